'use strict';

// SM API v2 as applications and ESO-like clients call it, through
// ibm-cloud-sdk-core 5 (see v2client.js): getSecret by id for every type,
// getSecretByNameType, listSecrets with the pager and with search,
// createSecretVersion and the current / previous version aliases, and
// iam_credentials with reuse_api_key false.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const {
  AUTH_MODES, assertRateLimitKept, authEnabled, iamRequests, loadFixtures, smRequests, startStack,
} = require('./stack');
const { SecretsManagerV2, SecretsPager, IamAuthenticator } = require('./v2client');

const fixtures = loadFixtures();
const byName = (name) => {
  const s = fixtures.secrets.find((x) => x.name === name);
  if (!s) throw new Error(`no fixture secret named ${name}`);
  return s;
};
const groupName = (id) => fixtures.secret_groups.find((g) => g.id === id).name;

// The data fields of each type in a v2 Secret / SecretVersion.
const DATA_FIELDS = {
  arbitrary: ['payload'],
  username_password: ['username', 'password'],
  kv: ['data'],
  iam_credentials: ['api_key'],
  imported_cert: ['certificate', 'intermediate', 'private_key'],
};

async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('the call succeeded; an error was expected');
  return null;
}

function v2Suite(auth) {
  let stack;
  // One long-lived client, as an application keeps one: its token is
  // fetched once and reused.
  let client;

  before(async () => {
    stack = await startStack({ auth });
    client = new SecretsManagerV2({
      authenticator: new IamAuthenticator(stack.authenticatorOptions()),
      serviceUrl: stack.proxyUrl,
    });
  });
  after(async () => { if (stack) await stack.stop(); });

  for (const f of fixtures.secrets.filter((s) => s.reuse_api_key !== false)) {
    it(`getSecret ${f.secret_type} ${f.name}: the fixture's value, twice`, async () => {
      for (let i = 0; i < 2; i++) {
        const res = await client.getSecret({ id: f.id });
        assert.equal(res.status, 200);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        const s = res.result;
        assert.equal(s.id, f.id);
        assert.equal(s.name, f.name);
        assert.equal(s.secret_type, f.secret_type);
        assert.equal(s.secret_group_id, f.secret_group_id);
        for (const k of DATA_FIELDS[f.secret_type]) assert.deepEqual(s[k], f[k], k);
        assert.equal(typeof s.state, 'number');
        assert.equal(typeof s.versions_total, 'number');
      }
      const log = await stack.fakeLog();
      assert.equal(smRequests(log, { method: 'GET', path: `/api/v2/secrets/${f.id}` }).length, 1,
        'the second read came from the cache');
    });
  }

  it('getSecretByNameType in the default group and in a named group', async () => {
    for (const name of ['db-creds', 'feature-flags', 'example-cert']) {
      const f = byName(name);
      const res = await client.getSecretByNameType({
        secretGroupName: groupName(f.secret_group_id), secretType: f.secret_type, name: f.name,
      });
      assert.equal(res.status, 200);
      assert.equal(res.result.id, f.id);
      assert.equal(res.result.secret_type, f.secret_type);
      for (const k of DATA_FIELDS[f.secret_type]) assert.deepEqual(res.result[k], f[k], k);
    }
    const e = await sdkError(client.getSecretByNameType({
      secretGroupName: 'default', secretType: 'username_password', name: 'team-a-db',
    }));
    assert.equal(e.status, 404, 'team-a-db is in team-a, not in default');
    assert.equal(e.message, e.result.errors[0].message);
  });

  it('listSecrets with the pager (limit 3): every secret once, metadata only', async () => {
    const pager = new SecretsPager(client, { limit: 3 });
    const pages = [];
    while (pager.hasNext()) pages.push(await pager.getNext());
    assert.equal(pages.length, Math.ceil(fixtures.secrets.length / 3));
    const all = pages.flat();
    assert.deepEqual(all.map((s) => s.id).sort(), fixtures.secrets.map((s) => s.id).sort());
    for (const s of all) {
      const f = fixtures.secrets.find((x) => x.id === s.id);
      assert.equal(s.secret_type, f.secret_type);
      assert.equal(s.name, f.name);
      for (const k of DATA_FIELDS[f.secret_type]) assert.equal(s[k], undefined, `${f.name}.${k} in a list`);
    }
    // A second pass is served from the cache.
    const again = await new SecretsPager(client, { limit: 3 }).getAll();
    assert.deepEqual(again.map((s) => s.id), all.map((s) => s.id));
    const log = await stack.fakeLog();
    const lists = smRequests(log, { method: 'GET', path: '/api/v2/secrets' });
    assert.equal(lists.length, pages.length, JSON.stringify(lists));
  });

  it('listSecrets with search, groups and secret_types', async () => {
    const res = await client.listSecrets({ search: 'team-a' });
    assert.equal(res.status, 200);
    const names = res.result.secrets.map((s) => s.name).sort();
    const want = fixtures.secrets.filter((s) => s.labels.includes('team-a')).map((s) => s.name).sort();
    assert.deepEqual(names, want);
    assert.equal(res.result.total_count, want.length);
    assert.equal(res.result.next, undefined, 'a single page has no next');

    const ups = await client.listSecrets({ secretTypes: ['username_password'], groups: ['default'] });
    assert.deepEqual(ups.result.secrets.map((s) => s.name), ['db-creds']);
  });

  it('createSecretVersion: the next reads return the new value; current and previous follow', async () => {
    const f = byName('team-a-token');
    // Warm every alias first, so stale entries would show.
    assert.equal((await client.getSecret({ id: f.id })).result.payload, f.payload);
    const cur0 = await client.getSecretVersion({ secretId: f.id, id: 'current' });
    assert.equal(cur0.result.payload, f.payload);
    assert.equal((await client.listSecretVersions({ secretId: f.id })).result.versions.length, 1);

    const payload = `rotated-${Date.now()}`;
    const created = await client.createSecretVersion({ secretId: f.id, secretVersionPrototype: { payload } });
    assert.equal(created.status, 201);
    assert.equal(created.result.secret_type, 'arbitrary');
    assert.equal(created.result.payload, payload);

    assert.equal((await client.getSecret({ id: f.id })).result.payload, payload);
    const cur = await client.getSecretVersion({ secretId: f.id, id: 'current' });
    assert.equal(cur.result.payload, payload);
    assert.equal(cur.result.id, created.result.id);
    const prev = await client.getSecretVersion({ secretId: f.id, id: 'previous' });
    assert.equal(prev.result.payload, f.payload);
    assert.equal(prev.result.id, cur0.result.id);
    const byId = await client.getSecretVersion({ secretId: f.id, id: cur0.result.id });
    assert.equal(byId.result.payload, f.payload);
    assert.equal((await client.listSecretVersions({ secretId: f.id })).result.versions.length, 2);
    const named = await client.getSecretByNameType({
      secretGroupName: groupName(f.secret_group_id), secretType: 'arbitrary', name: f.name,
    });
    assert.equal(named.result.payload, payload);
    // A v1 client (KES) sees the rotation too.
    const v1 = await fetch(`${stack.proxyUrl}/api/v1/secrets/arbitrary/${f.id}`, {
      headers: { Authorization: `Bearer ${await client.getAuthenticator().tokenManager.getToken()}` },
    });
    assert.equal(v1.status, 200);
    assert.equal((await v1.json()).resources[0].secret_data.payload, payload);
  });

  it('iam_credentials with reuse_api_key false: a new api_key on every read, never cached or shared', async () => {
    const f = byName('ephemeral-apikey');
    assert.equal(f.reuse_api_key, false);
    const a = await client.getSecret({ id: f.id });
    const b = await client.getSecret({ id: f.id });
    const [c, d] = await Promise.all([client.getSecret({ id: f.id }), client.getSecret({ id: f.id })]);
    const keys = [a, b, c, d].map((r) => r.result.api_key);
    for (const r of [a, b, c, d]) {
      assert.equal(r.status, 200);
      assert.equal(r.result.reuse_api_key, false);
    }
    for (const k of keys) assert.ok(typeof k === 'string' && k.length > 0);
    assert.equal(new Set(keys).size, keys.length, `api_keys: ${JSON.stringify(keys)}`);
    const log = await stack.fakeLog();
    assert.equal(smRequests(log, { method: 'GET', path: `/api/v2/secrets/${f.id}` }).length, 4);
  });

  it('unknown id: e.status 404 and errors[0].message', async () => {
    const id = '00000000-0000-4000-8000-000000000404';
    await client.getSecret({ id: byName('app-config').id }); // the token is in hand
    const e = await sdkError(client.getSecret({ id }));
    assert.equal(e.status, 404);
    assert.ok(Array.isArray(e.result.errors) && e.result.errors.length > 0, JSON.stringify(e.result));
    assert.equal(e.message, e.result.errors[0].message);
    const log = await stack.fakeLog();
    assert.ok(smRequests(log, { method: 'GET', path: `/api/v2/secrets/${id}` }).some((r) => r.status === 404),
      'the 404 came from the upstream');
  });

  it('one long-lived client asks its IAM for a token once', async () => {
    assert.ok(client.getAuthenticator().tokenManager.accessToken, 'the client holds a token');
    const log = await stack.fakeLog();
    // auth none: the proxy's own upstream token and the client's, both at
    // the fake; auth local: only the proxy's own (the client's came from
    // the proxy).
    const want = auth === 'none' ? 2 : 1;
    assert.equal(iamRequests(log).length, want, JSON.stringify(iamRequests(log)));
  });

  it('the upstream never saw more SM requests in one second than the rate limit (20)', async () => {
    assertRateLimitKept(await stack.fakeLog(), 20);
  });
}

for (const auth of AUTH_MODES) {
  const skip = authEnabled(auth) ? false : `auth ${auth}: SMPROXY_COMPAT_AUTH excludes ${auth}`;
  describe(`SM v2 through smproxy [auth ${auth}]`, { skip }, () => v2Suite(auth));
}
