'use strict';

// A fake Secrets Manager + IAM (tests/fake) and smproxy in front of it, on
// free loopback ports, for the SDK compatibility tests.
//
//   const stack = await startStack({ auth: 'none' });
//   ... stack.proxyUrl, stack.authenticatorOptions(), stack.fakeLog() ...
//   await stack.stop();   // SIGTERM; rejects unless smproxy exits 0
//
// auth 'none': smproxy ignores client tokens; the SDK's IamAuthenticator
// talks to the fake's IAM with the fake's API key, as it would to IBM IAM.
// auth 'local': smproxy authenticates its clients itself; the SDK's
// IamAuthenticator exchanges a proxy API key at the proxy's own
// POST /identity/token.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = process.env.SMPROXY_SOURCE_DIR || path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(REPO, 'tests', 'fake', 'fixtures', 'default.json');
const UPSTREAM_API_KEY = 'demo-upstream-key';
const START_TIMEOUT_MS = 15000;
const STOP_TIMEOUT_MS = 10000;

// The auth modes the suite runs in: both by default; SMPROXY_COMPAT_AUTH
// (a comma list, e.g. "local") picks a subset.
const AUTH_MODES = ['none', 'local'];
function authEnabled(auth) {
  return (process.env.SMPROXY_COMPAT_AUTH || 'none,local').split(',').includes(auth);
}

function findBinary(envName, name) {
  if (process.env[envName]) return process.env[envName];
  for (const dir of ['build-lead', 'build']) {
    const p = path.join(REPO, dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found: set ${envName} or build it`);
}

function scratchDir() {
  const base = process.env.SMPROXY_TEST_TMP || os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, 'compat-'));
}

const live = new Set();
function killLive() {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch (e) { /* already gone */ }
  }
}
process.on('exit', killLive);
// A runner that is interrupted (Ctrl-C, a closed output pipe, a timeout)
// takes its servers with it.
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.once(sig, () => {
    killLive();
    process.exit(128 + n);
  });
}

// Spawn a child, keep its stderr, and resolve once ready(stderrSoFar)
// returns a value (or reject on exit / timeout).
function spawnUntil(bin, args, ready, what) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const proc = { child, out: '', err: '', exit: null };
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      proc.exit = { code, signal };
      resolve(proc.exit);
    });
  });
  child.stdout.on('data', (d) => { proc.out += d; });
  child.stderr.on('data', (d) => { proc.err += d; });
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (fn, v) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timer);
      fn(v);
    };
    const check = () => {
      let v;
      try { v = ready(proc); } catch (e) { finish(reject, e); return; }
      if (v !== undefined && v !== null) finish(resolve, { proc, value: v });
    };
    const poll = setInterval(check, 25);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(reject, new Error(`${what} did not start within ${START_TIMEOUT_MS} ms\n${proc.err}`));
    }, START_TIMEOUT_MS);
    child.stderr.on('data', check);
    child.on('error', (e) => finish(reject, e));
    proc.exited.then((x) => finish(reject,
      new Error(`${what} exited early (${JSON.stringify(x)})\n${proc.err}`)));
  });
}

async function stopProc(proc, what) {
  if (proc.exit) return proc.exit;
  proc.child.kill('SIGTERM');
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
  });
  const x = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  if (x === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
    throw new Error(`${what} did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${proc.err}`);
  }
  return x;
}

async function startFake(dir, fixtures) {
  const portFile = path.join(dir, 'fake.port');
  const { proc, value: port } = await spawnUntil(findBinary('FAKE_SM_BIN', 'fake_sm'),
    ['--listen', '127.0.0.1:0', '--port-file', portFile, '--fixtures', fixtures],
    (p) => {
      const m = /fake_sm listening on 127\.0\.0\.1:(\d+)/.exec(p.err);
      if (m) return Number(m[1]);
      if (fs.existsSync(portFile)) {
        const s = fs.readFileSync(portFile, 'utf8').trim();
        if (/^\d+$/.test(s)) return Number(s);
      }
      return null;
    }, 'fake_sm');
  return { proc, url: `http://127.0.0.1:${port}` };
}

// A proxy API key and the --auth local config that grants it everything.
function writeLocalAuthConfig(dir) {
  const apikey = `compat-${crypto.randomBytes(24).toString('hex')}`;
  const config = {
    clients: [{
      name: 'kes',
      api_key_sha256: crypto.createHash('sha256').update(apikey).digest('hex'),
      secret_groups: ['*'],
      write: true,
    }],
  };
  const file = path.join(dir, 'smproxy.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return { apikey, file };
}

async function startProxy(dir, fakeUrl, auth, extraArgs) {
  const apiKeyFile = path.join(dir, 'upstream.apikey');
  const cacheKeyFile = path.join(dir, 'cache.key');
  fs.writeFileSync(apiKeyFile, UPSTREAM_API_KEY, { mode: 0o600 });
  fs.writeFileSync(cacheKeyFile, crypto.randomBytes(32).toString('base64') + '\n', { mode: 0o600 });
  const args = ['--listen', '127.0.0.1:0',
    '--upstream-url', fakeUrl, '--iam-url', fakeUrl,
    '--api-key-file', apiKeyFile,
    '--cache-path', path.join(dir, 'cache.db'), '--cache-key-file', cacheKeyFile];
  let client = null;
  if (auth === 'none') {
    args.push('--auth', 'none');
  } else if (auth === 'local') {
    client = writeLocalAuthConfig(dir);
    args.push('--auth', 'local', '--config', client.file);
  } else {
    throw new Error(`unknown auth mode ${auth}`);
  }
  args.push(...extraArgs);
  const { proc, value: port } = await spawnUntil(findBinary('SMPROXY_BIN', 'smproxy'), args,
    (p) => {
      const m = /msg=listening addr=127\.0\.0\.1:(\d+)/.exec(p.err);
      return m ? Number(m[1]) : null;
    }, 'smproxy');
  return { proc, url: `http://127.0.0.1:${port}`, client };
}

async function fakeCall(fakeUrl, method, what, query) {
  const qs = query ? `?${new URLSearchParams(query)}` : '';
  const r = await fetch(`${fakeUrl}/__fake/${what}${qs}`, { method });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`fake ${what}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

async function startStack({ auth = 'none', proxyArgs = [], fixtures = FIXTURES } = {}) {
  const dir = scratchDir();
  const fake = await startFake(dir, fixtures);
  let proxy;
  try {
    proxy = await startProxy(dir, fake.url, auth, proxyArgs);
  } catch (e) {
    await stopProc(fake.proc, 'fake_sm').catch(() => {});
    throw e;
  }
  const stack = {
    auth,
    dir,
    fakeUrl: fake.url,
    proxyUrl: proxy.url,
    // Where the SDK's IamAuthenticator goes, and with which key.
    iamUrl: auth === 'none' ? fake.url : proxy.url,
    apikey: auth === 'none' ? UPSTREAM_API_KEY : proxy.client.apikey,
    authenticatorOptions() {
      return { apikey: stack.apikey, url: stack.iamUrl };
    },
    proxyLog() { return proxy.proc.err; },
    fakeLog() { return fakeCall(fake.url, 'GET', 'log'); },
    fakeStats() { return fakeCall(fake.url, 'GET', 'stats'); },
    fakeError(status, count, retryAfter) {
      const q = { status: String(status), count: String(count) };
      if (retryAfter !== undefined) q.retry_after = String(retryAfter);
      return fakeCall(fake.url, 'POST', 'error', q);
    },
    fakeClearError() { return fakeCall(fake.url, 'POST', 'error', { status: '0' }); },
    fakeDown() { return fakeCall(fake.url, 'POST', 'down'); },
    fakeUp() { return fakeCall(fake.url, 'POST', 'up'); },
    fakeReset() { return fakeCall(fake.url, 'POST', 'reset'); },
    // Stop both; resolves to smproxy's exit, rejects unless it was 0.
    async stop() {
      let px;
      try {
        px = await stopProc(proxy.proc, 'smproxy');
      } finally {
        await stopProc(fake.proc, 'fake_sm').catch(() => {});
      }
      if (px.code !== 0) {
        throw new Error(`smproxy exited with ${JSON.stringify(px)} after SIGTERM\n${proxy.proc.err}`);
      }
      if (!process.env.SMPROXY_COMPAT_KEEP) fs.rmSync(dir, { recursive: true, force: true });
      return px;
    },
  };
  return stack;
}

// Upstream SM requests in a /__fake/log answer, optionally filtered.
function smRequests(log, { method, path: p, query } = {}) {
  return log.requests.filter((r) => r.kind === 'sm' &&
    (method === undefined || r.method === method) &&
    (p === undefined || r.path === p) &&
    (query === undefined || r.query === query));
}

// The busiest window_ms-long stretch of upstream SM arrivals in a log, the
// way the fake counts it (an arrival leaves the window window_ms later).
function busiestWindow(log, windowMs = 1000) {
  const sm = smRequests(log).filter((r) => typeof r.t_us === 'number').sort((a, b) => a.t_us - b.t_us);
  let best = { count: 0, requests: [] };
  let lo = 0;
  for (let hi = 0; hi < sm.length; hi++) {
    while (sm[lo].t_us <= sm[hi].t_us - windowMs * 1000) lo++;
    if (hi - lo + 1 > best.count) best = { count: hi - lo + 1, requests: sm.slice(lo, hi + 1) };
  }
  return best;
}

// The fake's own count (max_in_window) and the log agree; on failure, say
// which arrivals shared one window and whether the fake refused any.
function assertRateLimitKept(log, limit) {
  const w = busiestWindow(log);
  const span = w.requests.length ? w.requests[w.requests.length - 1].t_us - w.requests[0].t_us : 0;
  assert.ok(log.max_in_window <= limit && w.count <= limit,
    `the upstream saw ${log.max_in_window} SM requests within 1000 ms (limit ${limit}); ` +
    `busiest window in the log: ${w.count} arrivals over ${span} us, first ${JSON.stringify(w.requests[0])}, ` +
    `last ${JSON.stringify(w.requests[w.requests.length - 1])}; upstream 429s: ${log.count_429}`);
}

function iamRequests(log) {
  return log.requests.filter((r) => r.kind === 'iam');
}

function loadFixtures(file = FIXTURES) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

module.exports = {
  AUTH_MODES,
  FIXTURES,
  assertRateLimitKept,
  UPSTREAM_API_KEY,
  authEnabled,
  busiestWindow,
  iamRequests,
  loadFixtures,
  smRequests,
  startStack,
};
