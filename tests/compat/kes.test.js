'use strict';

// The v1 Node SDK (@ibm-cloud/secrets-manager 0.1.1) driven exactly as
// Kubernetes External Secrets' IBM backend drives it
// (lib/backends/ibmcloud-secrets-manager-backend.js): a new authenticator
// and a new client for every fetch, getSecret by type and id, the
// keyByName flow (listAllSecrets({search}) + filter + getSecret), and
// resources[0].secret_data / resources[0].api_key as the value.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const SecretsManager = require('@ibm-cloud/secrets-manager/secrets-manager/v1');
const { IamAuthenticator, getAuthenticatorFromEnvironment } = require('@ibm-cloud/secrets-manager/auth');

const {
  AUTH_MODES, assertRateLimitKept, authEnabled, iamRequests, loadFixtures, smRequests, startStack,
} = require('./stack');
const { SecretsManagerV2, IamAuthenticator: IamAuthenticatorV5 } = require('./v2client');

const fixtures = loadFixtures();
const byName = (name) => {
  const s = fixtures.secrets.find((x) => x.name === name);
  if (!s) throw new Error(`no fixture secret named ${name}`);
  return s;
};

// KES's _secretsManagerClient(): a fresh authenticator and client per call.
function kesClient(stack) {
  const authenticator = new IamAuthenticator(stack.authenticatorOptions());
  return new SecretsManager({ authenticator, serviceUrl: stack.proxyUrl });
}

// KES's _get(): the string KES hands to kv-backend.
async function kesGet(client, { key, keyByName, secretType }) {
  let id = key;
  if (keyByName === true) {
    const secrets = await client.listAllSecrets({ search: key });
    const filtered = secrets.result.resources.filter((s) => s.name === key && s.secret_type === secretType);
    if (filtered.length === 1) {
      id = filtered[0].id;
    } else if (filtered.length === 0) {
      throw new Error(`No ${secretType} secret named ${key}`);
    } else {
      throw new Error(`Multiple ${secretType} secrets named ${key}`);
    }
  }
  const secret = await client.getSecret({ secretType, id });
  if (secretType === 'iam_credentials') {
    return JSON.stringify(secret.result.resources[0].api_key);
  }
  return JSON.stringify(secret.result.resources[0].secret_data);
}

// What kv-backend does with it: JSON.parse.
async function kesFetch(stack, opts) {
  return JSON.parse(await kesGet(kesClient(stack), opts));
}

function v2Client(stack) {
  return new SecretsManagerV2({
    authenticator: new IamAuthenticatorV5(stack.authenticatorOptions()),
    serviceUrl: stack.proxyUrl,
  });
}

// The SDK error for a rejected call, with its parsed SM error body.
async function sdkError(promise) {
  try {
    await promise;
  } catch (e) {
    let body;
    try { body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body; } catch (x) { body = e.body; }
    return { e, body };
  }
  assert.fail('the call succeeded; an error was expected');
  return null;
}

function assertSmErrorShape(body, status) {
  assert.ok(body && Array.isArray(body.errors) && body.errors.length > 0,
    `SM error body with a non-empty errors array expected, got ${JSON.stringify(body)}`);
  assert.equal(typeof body.errors[0].message, 'string');
  assert.notEqual(body.errors[0].message, '');
  if (body.status_code !== undefined) assert.equal(body.status_code, status);
}

function kesSuite(auth) {
  let stack;

  before(async () => { stack = await startStack({ auth }); });
  after(async () => { if (stack) await stack.stop(); });

  it('20 concurrent KES fetches of an uncached secret: 1 upstream GET', async () => {
    const f = byName('ci-apikey');
    const path = `/api/v1/secrets/iam_credentials/${f.id}`;
    assert.equal(smRequests(await stack.fakeLog(), { path }).length, 0, 'ci-apikey must not have been read yet');
    const all = await Promise.all(Array.from({ length: 20 },
      () => kesFetch(stack, { key: f.id, secretType: 'iam_credentials' })));
    for (const v of all) assert.equal(v, f.api_key);
    const log = await stack.fakeLog();
    assert.equal(smRequests(log, { method: 'GET', path }).length, 1,
      `upstream GETs of ${path}: ${JSON.stringify(smRequests(log, { path }))}`);
  });

  it('username_password: secret_data is {username, password}', async () => {
    const f = byName('db-creds');
    const v = await kesFetch(stack, { key: f.id, secretType: 'username_password' });
    assert.equal(v.username, f.username);
    assert.equal(v.password, f.password);
  });

  it('arbitrary: secret_data.payload', async () => {
    const f = byName('team-a-token');
    const v = await kesFetch(stack, { key: f.id, secretType: 'arbitrary' });
    assert.deepEqual(v, { payload: f.payload });
  });

  it('kv: secret_data.payload is the data object (property payload.key)', async () => {
    const f = byName('feature-flags');
    const v = await kesFetch(stack, { key: f.id, secretType: 'kv' });
    assert.deepEqual(v.payload, f.data);
    assert.equal(v.payload.limits.region, f.data.limits.region);
  });

  it('iam_credentials (reuse_api_key true): resources[0].api_key', async () => {
    const f = byName('ci-apikey');
    assert.equal(f.reuse_api_key, true);
    const v = await kesFetch(stack, { key: f.id, secretType: 'iam_credentials' });
    assert.equal(v, f.api_key);
  });

  it('iam_credentials (reuse_api_key false): every fetch gets a new api_key, none cached', async () => {
    const f = byName('ephemeral-apikey');
    assert.equal(f.reuse_api_key, false);
    const path = `/api/v1/secrets/iam_credentials/${f.id}`;
    const a = await kesFetch(stack, { key: f.id, secretType: 'iam_credentials' });
    const b = await kesFetch(stack, { key: f.id, secretType: 'iam_credentials' });
    const [c, d] = await Promise.all([
      kesFetch(stack, { key: f.id, secretType: 'iam_credentials' }),
      kesFetch(stack, { key: f.id, secretType: 'iam_credentials' }),
    ]);
    const keys = [a, b, c, d];
    for (const k of keys) assert.equal(typeof k, 'string');
    assert.equal(new Set(keys).size, 4, `api_keys: ${JSON.stringify(keys)}`);
    assert.equal(smRequests(await stack.fakeLog(), { method: 'GET', path }).length, 4);
  });

  it('imported_cert: certificate, intermediate and private_key (template kubernetes.io/tls)', async () => {
    const f = byName('example-cert');
    const v = await kesFetch(stack, { key: f.id, secretType: 'imported_cert' });
    assert.equal(v.certificate, f.certificate);
    assert.equal(v.intermediate, f.intermediate);
    assert.equal(v.private_key, f.private_key);
  });

  it('keyByName: listAllSecrets({search}) + filter + getSecret', async () => {
    const f = byName('team-a-db');
    const client = kesClient(stack);
    const list = await client.listAllSecrets({ search: f.name });
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.result.resources), 'resources must be an array');
    for (const s of list.result.resources) {
      assert.equal(s.secret_data, undefined, 'a list item must not carry secret_data');
    }
    const v = JSON.parse(await kesGet(kesClient(stack), {
      key: f.name, keyByName: true, secretType: 'username_password',
    }));
    assert.deepEqual(v, { username: f.username, password: f.password });
  });

  it('keyByName: a name that only matches as a substring is "No ... secret named"', async () => {
    // "team-a" is a substring of several names and a label, never a whole name.
    await assert.rejects(kesGet(kesClient(stack), { key: 'team-a', keyByName: true, secretType: 'arbitrary' }),
      { message: 'No arbitrary secret named team-a' });
    // The right name with the wrong type matches nothing either.
    await assert.rejects(kesGet(kesClient(stack), { key: 'db-creds', keyByName: true, secretType: 'arbitrary' }),
      { message: 'No arbitrary secret named db-creds' });
  });

  it('authenticator from IBM_CLOUD_SECRETS_MANAGER_API_* (KES with AUTH_TYPE set)', async () => {
    const vars = {
      IBM_CLOUD_SECRETS_MANAGER_API_AUTH_TYPE: 'iam',
      IBM_CLOUD_SECRETS_MANAGER_API_APIKEY: stack.apikey,
      IBM_CLOUD_SECRETS_MANAGER_API_AUTH_URL: stack.iamUrl,
    };
    const saved = {};
    for (const k of Object.keys(vars)) { saved[k] = process.env[k]; process.env[k] = vars[k]; }
    try {
      const authenticator = getAuthenticatorFromEnvironment('IBM_CLOUD_SECRETS_MANAGER_API');
      assert.ok(authenticator instanceof IamAuthenticator);
      const client = new SecretsManager({ authenticator, serviceUrl: stack.proxyUrl });
      const f = byName('db-creds');
      const v = JSON.parse(await kesGet(client, { key: f.id, secretType: 'username_password' }));
      assert.equal(v.password, f.password);
    } finally {
      for (const k of Object.keys(vars)) {
        if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
      }
    }
  });

  it('20 KES polls of one secret: 1 upstream GET, one token request per poll at the configured IAM', async () => {
    const f = byName('app-config');
    const path = `/api/v1/secrets/arbitrary/${f.id}`;
    const before0 = await stack.fakeLog();
    assert.equal(smRequests(before0, { path }).length, 0, 'app-config must not have been read yet');
    for (let i = 0; i < 20; i++) {
      const v = await kesFetch(stack, { key: f.id, secretType: 'arbitrary' });
      assert.equal(v.payload, f.payload);
    }
    const log = await stack.fakeLog();
    assert.equal(smRequests(log, { method: 'GET', path }).length, 1,
      `upstream GETs of ${path}: ${JSON.stringify(smRequests(log, { path }))}`);
    const iamDelta = iamRequests(log).length - iamRequests(before0).length;
    if (auth === 'none') {
      // Every poll builds a new IamAuthenticator: 20 token requests, all at
      // the fake's IAM (the proxy's own token is cached and reused).
      assert.ok(iamDelta >= 20 && iamDelta <= 21, `IAM calls at the fake: ${iamDelta}`);
      for (const r of iamRequests(log).slice(iamRequests(before0).length)) {
        assert.equal(r.method, 'POST');
        assert.equal(r.path, '/identity/token');
        assert.equal(r.status, 200);
      }
    } else {
      // The SDK's tokens came from the proxy; the fake IAM saw at most the
      // proxy's own token refresh.
      assert.ok(iamDelta <= 1, `IAM calls at the fake: ${iamDelta}`);
    }
  });

  it('rotation with the v1 SDK (updateSecret action=rotate): the very next read returns the new value', async () => {
    const f = byName('app-config');
    const first = await kesFetch(stack, { key: f.id, secretType: 'arbitrary' });
    assert.equal(first.payload, f.payload);
    const payload = `rotated-v1-${Date.now()}`;
    const res = await kesClient(stack).updateSecret({
      secretType: 'arbitrary', id: f.id, action: 'rotate', secretActionOneOf: { payload },
    });
    assert.equal(res.status, 200);
    assert.equal(res.result.resources[0].secret_data.payload, payload);
    const next = await kesFetch(stack, { key: f.id, secretType: 'arbitrary' });
    assert.equal(next.payload, payload);
    const log = await stack.fakeLog();
    const posts = smRequests(log, { method: 'POST', path: `/api/v1/secrets/arbitrary/${f.id}` });
    assert.equal(posts.length, 1);
    assert.equal(posts[0].query, 'action=rotate');
  });

  it('rotation with a v2 POST .../versions through the proxy: the next v1 read returns the new value', async () => {
    const f = byName('db-creds');
    const first = await kesFetch(stack, { key: f.id, secretType: 'username_password' });
    assert.equal(first.password, f.password);
    const password = `rotated-v2-${Date.now()}`;
    const res = await v2Client(stack).createSecretVersion({
      secretId: f.id, secretVersionPrototype: { password },
    });
    assert.equal(res.status, 201);
    const next = await kesFetch(stack, { key: f.id, secretType: 'username_password' });
    assert.equal(next.password, password, 'the v1 read after a v2 rotation served the old password');
    assert.equal(next.username, f.username);
    // The keyByName flow sees it too.
    const byNameV = JSON.parse(await kesGet(kesClient(stack), {
      key: f.name, keyByName: true, secretType: 'username_password',
    }));
    assert.equal(byNameV.password, password);
  });

  it('unknown id: e.status 404, e.message is errors[0].message of the body', async () => {
    const id = '00000000-0000-4000-8000-000000000404';
    const path = `/api/v1/secrets/arbitrary/${id}`;
    for (let i = 0; i < 2; i++) {
      // One client: a good read first, so its token is in hand and the
      // error below can only be the secret's.
      const client = kesClient(stack);
      await client.getSecret({ secretType: 'arbitrary', id: byName('team-a-token').id });
      const { e, body } = await sdkError(client.getSecret({ secretType: 'arbitrary', id }));
      assert.equal(e.status, 404);
      assertSmErrorShape(body, 404);
      assert.equal(e.message, body.errors[0].message);
      assert.match(String(e.headers['content-type']), /^application\/json/);
    }
    const log = await stack.fakeLog();
    assert.ok(smRequests(log, { method: 'GET', path }).some((r) => r.status === 404),
      'the 404 came from the upstream');
  });

  it('an id of another type: 404 like SM', async () => {
    const f = byName('team-a-token');
    const client = kesClient(stack);
    await client.getSecret({ secretType: 'arbitrary', id: f.id });
    const { e, body } = await sdkError(client.getSecret({ secretType: 'username_password', id: f.id }));
    assert.equal(e.status, 404);
    assertSmErrorShape(body, 404);
    assert.equal(e.message, body.errors[0].message);
    const log = await stack.fakeLog();
    assert.ok(smRequests(log, { method: 'GET', path: `/api/v1/secrets/username_password/${f.id}` })
      .some((r) => r.status === 404), 'the 404 came from the upstream');
  });

  it('the upstream never saw more SM requests in one second than the rate limit (20)', async () => {
    assertRateLimitKept(await stack.fakeLog(), 20);
  });
}

function kes429Suite(auth) {
  let stack;

  before(async () => { stack = await startStack({ auth, proxyArgs: ['--deadline-ms', '1500'] }); });
  after(async () => {
    if (stack) {
      await stack.fakeClearError().catch(() => {});
      await stack.stop();
    }
  });

  it('upstream 429 on an uncached secret: the SDK gets an SM-shaped 429; a cached one is still served', async () => {
    const cached = byName('team-a-token');
    const uncached = byName('team-a-db');
    const warm = await kesFetch(stack, { key: cached.id, secretType: 'arbitrary' });
    assert.equal(warm.payload, cached.payload);

    await stack.fakeError(429, 50, 1);
    const t0 = Date.now();
    const { e, body } = await sdkError(kesGet(kesClient(stack), { key: uncached.id, secretType: 'username_password' }));
    const took = Date.now() - t0;
    assert.equal(e.status, 429, `status ${e.status}: ${e.message}`);
    assertSmErrorShape(body, 429);
    assert.equal(e.message, body.errors[0].message);
    assert.match(String(e.headers['content-type']), /^application\/json/);
    assert.match(String(e.headers['retry-after']), /^\d+$/, 'a 429 should carry Retry-After in seconds');
    assert.ok(took < 6000, `the 429 took ${took} ms with --deadline-ms 1500`);

    const v = await kesFetch(stack, { key: cached.id, secretType: 'arbitrary' });
    assert.equal(v.payload, cached.payload);

    const log = await stack.fakeLog();
    const path = `/api/v1/secrets/username_password/${uncached.id}`;
    assert.ok(smRequests(log, { path }).some((r) => r.status === 429), 'the proxy did ask the upstream');
    assert.equal(smRequests(log, { path: `/api/v1/secrets/arbitrary/${cached.id}` }).length, 1,
      'the cached secret was not fetched again');
  });
}

for (const auth of AUTH_MODES) {
  const skip = authEnabled(auth) ? false : `auth ${auth}: SMPROXY_COMPAT_AUTH excludes ${auth}`;
  describe(`KES v1 SDK through smproxy [auth ${auth}]`, { skip }, () => kesSuite(auth));
  describe(`KES v1 SDK, upstream 429 [auth ${auth}]`, { skip }, () => kes429Suite(auth));
}
