// Browser tests of the wasmcloud-cpp dashboard, run by tests/ui/run.sh against a real lattice
// (nats-server, docker-registry, two `wasmcloud host` processes, `wasmcloud dashboard`).
// Drives the system Chromium through playwright-core; every step writes a screenshot to
// tests/ui/artifacts/. Steps share one page and run in order; none reloads the page, so every
// table change seen here arrived over server-sent events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run tests/ui/run.sh)`);
  return v;
};
const URL_BASE = env('WC_DASHBOARD_URL');
const REGISTRY = env('WC_REGISTRY');
const WASMCLOUD = env('WC_WASMCLOUD');
const FIXTURES = env('WC_FIXTURES');
const HTTPSERVER_REF = env('WC_HTTPSERVER_REF');
const WORK = env('WC_WORK');
const ARTIFACTS = env('WC_ARTIFACTS');
const ECHO_KEY = 'MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5';
const UNPRIV_KEY = 'MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5';
const T = 20000;

let context;
let page;
let hostA;

// ------------------------------------------------------------------ control requests on the wire
// A raw NATS client (this test's own subscription to wasmbus.ctl.>) records every control
// request the dashboard sends; each step then asserts the exact subject and body (key set and
// values) of the commands it caused, so nothing is sent that the original dashboard does not
// send (control-interface.md 7.2). The refresher's queries (ping.hosts, get.*) carry no body.
const CTL = 'wasmbus.ctl.default.';
const QUERY = /^wasmbus\.ctl\.default\.(ping\.hosts|get\.links|get\.claims|get\.N[A-Z0-9]{55}\.inv)$/;
const ctlSeen = [];  // {subject, body} in arrival order
let ctlMark = 0;     // ctlSeen index up to which commands were asserted
let ctlSocket;

/** Connects to the lattice's nats-server and subscribes wasmbus.ctl.>; resolves once live. */
function recordControlRequests() {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(env('WC_NATS_PORT')), '127.0.0.1');
    let buf = Buffer.alloc(0);
    let live = false;
    sock.on('error', (e) => { if (!live) reject(e); else console.error('ctl recorder:', e.message); });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.subarray(0, eol).toString();
        if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
          // MSG <subject> <sid> [reply] <bytes> | HMSG <subject> <sid> [reply] <hdr bytes> <bytes>
          const parts = line.split(' ');
          const total = Number(parts[parts.length - 1]);
          const hdr = parts[0] === 'HMSG' ? Number(parts[parts.length - 2]) : 0;
          if (buf.length < eol + 2 + total + 2) return;  // payload not complete yet
          ctlSeen.push({ subject: parts[1], body: buf.subarray(eol + 2 + hdr, eol + 2 + total).toString() });
          buf = buf.subarray(eol + 2 + total + 2);
          continue;
        }
        buf = buf.subarray(eol + 2);
        if (line.startsWith('INFO ')) {
          sock.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"name":"ui-test-ctl-recorder"}\r\n' +
            'SUB wasmbus.ctl.> 1\r\nPING\r\n');
        } else if (line === 'PING') {
          sock.write('PONG\r\n');
        } else if (line === 'PONG' && !live) {
          live = true;
          resolve(sock);
        } else if (line.startsWith('-ERR')) {
          console.error('ctl recorder:', line);
        }
      }
    });
  });
}

/**
 * Asserts that the control commands the dashboard sent since the last call are exactly
 * `expected` ([{subject (after "wasmbus.ctl.default."), body (parsed JSON)}], in order), and
 * that every query in between had an empty body.
 */
async function expectCommands(expected) {
  const commands = () => ctlSeen.slice(ctlMark).filter((m) => !QUERY.test(m.subject));
  const until = Date.now() + T;
  while (commands().length < expected.length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));  // anything sent beyond the expected ones
  const seen = ctlSeen.slice(ctlMark);
  ctlMark += seen.length;
  for (const q of seen.filter((m) => QUERY.test(m.subject))) assert.equal(q.body, '', `${q.subject} carries a body`);
  const got = seen.filter((m) => !QUERY.test(m.subject)).map((m) => {
    assert.ok(m.subject.startsWith(CTL), m.subject);
    let body;
    try { body = JSON.parse(m.body); } catch { body = m.body; }
    return { subject: m.subject.slice(CTL.length), body };
  });
  assert.deepStrictEqual(got, expected);
}

/** Runs the wasmcloud CLI; returns stdout, throws with stderr on failure. */
function cli(...args) {
  const r = spawnSync(WASMCLOUD, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wasmcloud ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The actors-table row of `key` on host A. */
function actorRow(key) {
  return page.locator(`#actors-table tr[data-actor="${key}"][data-host="${hostA}"]`);
}

async function expectCount(key, n) {
  if (n === 0) {
    await actorRow(key).waitFor({ state: 'detached', timeout: T });
    return;
  }
  await page.waitForFunction(
    ([k, h, c]) => document.querySelector(`#actors-table tr[data-actor="${k}"][data-host="${h}"] .count`)?.textContent === String(c),
    [key, hostA, n], { timeout: T });
}

async function openDialog(id) {
  await page.click(`[data-open="${id}"]`);
  await page.locator(`#${id}`).waitFor({ state: 'visible' });
}

async function submit(formId) {
  const form = page.locator(`#${formId}`);
  await form.locator('.form-message').evaluate((e) => { e.textContent = ''; });
  await form.locator('button[type=submit]').click();
  try {
    await page.waitForFunction(
      (id) => { const t = document.querySelector(`#${id} .form-message`).textContent; return t && t !== 'Sending…'; },
      formId, { timeout: T });
  } catch (e) {
    await shot(`failed-${formId}`);
    const text = await form.locator('.form-message').textContent();
    throw new Error(`${formId}: no answer shown (message now ${JSON.stringify(text)}): ${e.message}`);
  }
  return form.locator('.form-message');
}

async function closeDialog(id) {
  await page.locator(`#${id} button.close`).click();
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** GET through node's fetch; resolves to {ms, status, json} (ms = client round trip). */
async function timedGet(url) {
  const t0 = performance.now();
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return { ms: performance.now() - t0, status: r.status, text };
}

/** Signs a copy of echo.wasm as `name` with revision `rev` using fixed keys (same module key). */
function signEcho(dest, rev, keys) {
  cli('claims', 'sign', path.join(FIXTURES, 'echo.wasm'), '-n', 'hotecho', '-q', '-r', String(rev),
    '-i', keys.account, '-s', keys.module, '-d', dest);
}

before(async () => {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wc-ui-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  ctlSocket = await recordControlRequests();
  await page.goto(URL_BASE + '/');
  await page.evaluate(() => { window.__noReload = 'still-here'; });
});

after(async () => {
  if (context) await context.close();
  if (ctlSocket) ctlSocket.destroy();
});

test('hosts of the lattice appear', async () => {
  await page.waitForFunction(() => document.querySelectorAll('#hosts-table tr[data-host]').length >= 2, null, { timeout: T });
  hostA = await page.locator('#hosts-table tr[data-host]', { hasText: 'ui-host-a' }).getAttribute('data-host');
  assert.match(hostA, /^N[A-Z0-9]{55}$/);
  assert.equal(await page.locator('#connection').textContent(), 'live');
  await shot('01-hosts');
  await expectCommands([]);
});

test('start echo from the registry with count 2 on a chosen host', async () => {
  await openDialog('dialog-start-oci');
  await page.selectOption('#form-start-oci select[name=host_id]', hostA);
  await page.fill('#form-start-oci input[name=actor_ref]', `${REGISTRY}/echo:0.3.4`);
  await page.fill('#form-start-oci input[name=count]', '2');
  const msg = await submit('form-start-oci');
  assert.match(await msg.textContent(), /^Accepted: 2 instance\(s\) of MBCFOPM6/);
  await shot('02-start-ack');
  await closeDialog('dialog-start-oci');
  await expectCount(ECHO_KEY, 2);
  assert.equal(await actorRow(ECHO_KEY).locator('.name').textContent(), 'Echo');
  assert.equal(await actorRow(ECHO_KEY).locator('.ref').textContent(), `${REGISTRY}/echo:0.3.4`);
  assert.equal(await page.evaluate(() => window.__noReload), 'still-here');
  await shot('03-echo-2-instances');
  // The seed's exact body: no host_id (the host is in the subject).
  await expectCommands([
    { subject: `cmd.${hostA}.scale`, body: { actor_id: ECHO_KEY, actor_ref: `${REGISTRY}/echo:0.3.4`, count: 2 } },
  ]);
});

test('scale echo to 3, then to 0', async () => {
  await actorRow(ECHO_KEY).locator('button.scale').click();
  await page.fill('#form-scale input[name=count]', '3');
  let msg = await submit('form-scale');
  assert.match(await msg.textContent(), /^Accepted: scaling to 3/);
  await closeDialog('dialog-scale');
  await expectCount(ECHO_KEY, 3);
  await shot('04-echo-3-instances');
  await actorRow(ECHO_KEY).locator('button.scale').click();
  await page.fill('#form-scale input[name=count]', '0');
  msg = await submit('form-scale');
  assert.match(await msg.textContent(), /^Accepted: scaling to 0/);
  await closeDialog('dialog-scale');
  await expectCount(ECHO_KEY, 0);
  assert.equal(await page.evaluate(() => window.__noReload), 'still-here');
  await shot('05-echo-scaled-to-0');
  await expectCommands([3, 0].map((count) => (
    { subject: `cmd.${hostA}.scale`, body: { actor_id: ECHO_KEY, actor_ref: `${REGISTRY}/echo:0.3.4`, count } })));
});

test('upload a module: pushed to the registry and started', async () => {
  await openDialog('dialog-upload');
  await page.selectOption('#form-upload select[name=host_id]', hostA);
  const empty = await submit('form-upload');
  assert.equal(await empty.textContent(), 'Please select a file');
  await page.setInputFiles('#form-upload input[name=file]', path.join(FIXTURES, 'echo_unpriv_s.wasm'));
  await page.fill('#form-upload input[name=count]', '1');
  const msg = await submit('form-upload');
  assert.match(await msg.textContent(), new RegExp(`^Accepted: 1 instance.*from ${REGISTRY}/dashboard/mcraceyk`));
  await shot('06-upload-ack');
  await closeDialog('dialog-upload');
  await expectCount(UNPRIV_KEY, 1);
  const pushed = await actorRow(UNPRIV_KEY).locator('.ref').textContent();
  assert.match(pushed, new RegExp(`^${REGISTRY}/dashboard/`));
  await shot('07-uploaded-actor');
  await expectCommands([{ subject: `cmd.${hostA}.scale`, body: { actor_id: UNPRIV_KEY, actor_ref: pushed, count: 1 } }]);
});

test('hot reload: the actor is live-updated when the file changes', async () => {
  const keys = {
    account: JSON.parse(cli('keys', 'gen', 'account', '-o', 'json')).seed,
    module: JSON.parse(cli('keys', 'gen', 'module', '-o', 'json')).seed,
  };
  const file = path.join(WORK, 'hotecho_s.wasm');
  signEcho(file, 1, keys);
  await openDialog('dialog-hotreload');
  await page.selectOption('#form-hotreload select[name=host_id]', hostA);
  await page.fill('#form-hotreload input[name=path]', file);
  await page.fill('#form-hotreload input[name=count]', '1');
  const msg = await submit('form-hotreload');
  const text = await msg.textContent();
  assert.match(text, /watching/, text);
  await closeDialog('dialog-hotreload');
  const key = await page.locator('#watches-table tr[data-path] .id').first().getAttribute('data-full');
  await expectCount(key, 1);
  assert.equal(await actorRow(key).locator('.revision').textContent(), '1');
  await shot('08-hot-reload-started');
  // New revision written next to it, then moved over the watched file (atomic replace).
  signEcho(file + '.new', 2, keys);
  fs.renameSync(file + '.new', file);
  await page.waitForFunction(
    ([k, h]) => document.querySelector(`#actors-table tr[data-actor="${k}"][data-host="${h}"] .revision`)?.textContent === '2',
    [key, hostA], { timeout: T });
  await page.locator('#event-log li', { hasText: 'updated to revision 2' }).first().waitFor({ timeout: T });
  await shot('09-hot-reload-updated');
  await page.locator(`#watches-table tr[data-path="${file}"] button.stop-watch`).click();
  await page.locator(`#watches-table tr[data-path="${file}"]`).waitFor({ state: 'detached', timeout: T });
  await expectCommands([
    { subject: `cmd.${hostA}.scale`, body: { actor_id: key, actor_ref: `file://${file}`, count: 1 } },
    { subject: `cmd.${hostA}.upd`, body: { actor_id: key, new_actor_ref: `file://${file}` } },
  ]);
});

test('a bad reference shows the error', async () => {
  await openDialog('dialog-start-oci');
  await page.selectOption('#form-start-oci select[name=host_id]', hostA);
  await page.fill('#form-start-oci input[name=actor_ref]', `${REGISTRY}/does-not-exist:9.9.9`);
  await page.fill('#form-start-oci input[name=count]', '1');
  const msg = await submit('form-start-oci');
  assert.match(await msg.textContent(), /^Unable to read the actor's claims from the registry: /);
  assert.equal(await msg.getAttribute('data-level'), 'error');
  await page.fill('#form-start-oci input[name=actor_ref]', '');
  const empty = await submit('form-start-oci');
  assert.equal(await empty.textContent(), 'Please enter an OCI reference');
  await page.fill('#form-start-oci input[name=actor_ref]', `${REGISTRY}/echo:0.3.4`);
  await page.fill('#form-start-oci input[name=count]', '0');
  const zero = await submit('form-start-oci');
  assert.equal(await zero.textContent(), 'Replicas must be a whole number of at least 1');
  await shot('10-bad-reference');
  await closeDialog('dialog-start-oci');
  await expectCommands([]);  // refused before anything reached the lattice
});

/** POSTs like a page on another site would (its Origin, a stolen or no token). */
function crossSitePost(origin, token) {
  const u = new URL('/api/actors/scale', URL_BASE);
  const body = JSON.stringify({ host_id: hostA, actor_id: UNPRIV_KEY, count: 0 });
  return new Promise((resolve, reject) => {
    const req = http.request(u, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin, 'X-CSRF-Token': token, 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a request with a wrong origin is refused', async () => {
  const token = await page.locator('meta[name=csrf-token]').getAttribute('content');
  const r = await crossSitePost('http://evil.example', token);
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { accepted: false, error: 'Cross-site request refused' });
  const noToken = await crossSitePost(URL_BASE, '');
  assert.equal(noToken.status, 403);
  assert.equal(noToken.body.error, 'Missing or wrong CSRF token');
  // A page of another origin in the browser cannot do it either.
  const other = await context.newPage();
  await other.goto('about:blank');
  const status = await other.evaluate(async ([u, t]) => {
    try {
      const res = await fetch(u, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: t });
      return res.type;
    } catch (e) { return 'blocked: ' + e.message; }
  }, [URL_BASE + '/api/actors/scale', JSON.stringify({ host_id: hostA, actor_id: UNPRIV_KEY, count: 0 })]);
  await other.close();
  assert.ok(status === 'opaque' || status.startsWith('blocked'), status);
  await expectCount(UNPRIV_KEY, 1);  // still running: nothing got through
  await page.locator('#event-log li.error', { hasText: 'Cross-site request refused' }).first().waitFor({ timeout: T });
  await shot('11-wrong-origin-refused');
  await expectCommands([]);
});

test('define and delete a link definition (linkdefs.put / linkdefs.del)', async () => {
  const provider = 'VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M';
  await openDialog('dialog-link');
  const missing = await submit('form-link');
  assert.equal(await missing.textContent(), 'Please select an Actor ID to link');
  await page.selectOption('#form-link select[name=actor_id]', ECHO_KEY);
  await page.fill('#form-link input[name=provider_id_text]', provider);
  await page.fill('#form-link input[name=contract_id]', 'wasmcloud:keyvalue');
  await page.fill('#form-link input[name=values]', 'URL=redis://127.0.0.1:6379/');
  const msg = await submit('form-link');
  assert.equal(await msg.textContent(), 'Link definition published');
  await closeDialog('dialog-link');
  const row = page.locator('#links-table tr[data-link]', { hasText: 'wasmcloud:keyvalue' });
  await row.waitFor({ timeout: T });
  assert.match(await row.textContent(), /URL=redis:\/\/127\.0\.0\.1:6379\//);
  await shot('12-link-defined');
  await row.locator('button.delete').click();
  await row.waitFor({ state: 'detached', timeout: T });
  await shot('13-link-deleted');
  await expectCommands([
    {
      subject: 'linkdefs.put',
      body: { actor_id: ECHO_KEY, contract_id: 'wasmcloud:keyvalue', link_name: 'default', provider_id: provider, values: { URL: 'redis://127.0.0.1:6379/' } },
    },
    { subject: 'linkdefs.del', body: { actor_id: ECHO_KEY, contract_id: 'wasmcloud:keyvalue', link_name: 'default' } },
  ]);
});

// The provider steps share these.
let provider;      // {key, name, contract} from `wasmcloud par inspect` of the pushed archive
let providerHost;  // host chosen in the form
let echoHost;      // host the "any host" auction picked for echo
let httpPort;      // the link's port value
const rtts = [];   // client round trips (ms) of the HTTP requests that reached echo

test('start echo on "any host": the auction picks a host', async () => {
  await openDialog('dialog-start-oci');
  await page.selectOption('#form-start-oci select[name=host_id]', '');
  assert.equal(await page.locator('#form-start-oci select[name=host_id] option:checked').textContent(), '-- First available --');
  await page.fill('#form-start-oci input[name=actor_ref]', `${REGISTRY}/echo:0.3.4`);
  await page.fill('#form-start-oci input[name=count]', '1');
  const msg = await submit('form-start-oci');
  assert.match(await msg.textContent(), /^Accepted: 1 instance\(s\) of MBCFOPM6… requested on host ui-host-[ab]$/);
  await closeDialog('dialog-start-oci');
  const row = page.locator(`#actors-table tr[data-actor="${ECHO_KEY}"]`);
  await page.waitForFunction((k) => document.querySelector(`#actors-table tr[data-actor="${k}"] .count`)?.textContent === '1', ECHO_KEY, { timeout: T });
  echoHost = await row.getAttribute('data-host');
  assert.match(echoHost, /^N[A-Z0-9]{55}$/);
  await shot('15-echo-on-any-host');
  await expectCommands([
    { subject: 'auction.actor', body: { actor_ref: `${REGISTRY}/echo:0.3.4`, constraints: {} } },
    { subject: `cmd.${echoHost}.scale`, body: { actor_id: ECHO_KEY, actor_ref: `${REGISTRY}/echo:0.3.4`, count: 1 } },
  ]);
});

test('start the httpserver provider through the form: it appears in the providers table', async () => {
  const inspected = JSON.parse(cli('par', 'inspect', env('WC_HTTPSERVER_PAR'), '-o', 'json'));
  provider = { key: inspected.service, name: inspected.name, contract: inspected.capability_contract_id };
  assert.match(provider.key, /^V[A-Z0-9]{55}$/);
  providerHost = await page.locator('#hosts-table tr[data-host]', { hasText: 'ui-host-b' }).getAttribute('data-host');
  await openDialog('dialog-start-provider');
  await page.selectOption('#form-start-provider select[name=host_id]', providerHost);
  const empty = await submit('form-start-provider');
  assert.equal(await empty.textContent(), 'Please enter an OCI reference');
  await page.fill('#form-start-provider input[name=provider_ref]', HTTPSERVER_REF);
  assert.equal(await page.inputValue('#form-start-provider input[name=link_name]'), 'default');
  const msg = await submit('form-start-provider');
  assert.equal(await msg.getAttribute('data-level'), 'ok', await msg.textContent());
  assert.equal(await msg.textContent(), `Accepted: starting ${HTTPSERVER_REF} on host ui-host-b`);
  await shot('16-start-provider-ack');
  await closeDialog('dialog-start-provider');
  // Arrives over server-sent events (provider_started), no reload.
  const row = page.locator(`#providers-table tr[data-provider="${provider.key}"][data-host="${providerHost}"]`);
  await row.waitFor({ timeout: T });
  assert.equal(await row.locator('.name').textContent(), provider.name);
  assert.equal(await row.locator('.key .id').getAttribute('data-full'), provider.key);
  assert.equal(await row.locator('.link-name').textContent(), 'default');
  assert.equal(await row.locator('.contract').textContent(), 'wasmcloud:httpserver');
  assert.equal(provider.contract, 'wasmcloud:httpserver');
  assert.equal(await row.locator('.host').textContent(), 'ui-host-b');
  assert.match(await row.locator('.status').textContent(), /^(Awaiting|Healthy)$/);
  assert.equal(await page.locator(`#hosts-table tr[data-host="${providerHost}"] .provider-count`).textContent(), '1');
  assert.equal(await page.evaluate(() => window.__noReload), 'still-here');
  await shot('17-provider-running');
  // The host's first health check (6.2) turns the badge green.
  await page.waitForFunction(([k, h]) => document.querySelector(`#providers-table tr[data-provider="${k}"][data-host="${h}"] .status`)?.textContent === 'Healthy',
    [provider.key, providerHost], { timeout: T });
  await shot('18-provider-healthy');
  await expectCommands([
    { subject: `cmd.${providerHost}.lp`, body: { provider_ref: HTTPSERVER_REF, link_name: 'default', configuration: '' } },
  ]);
});

test('define link echo <-> httpserver with a port: an HTTP request reaches echo', async () => {
  httpPort = await freePort();
  await openDialog('dialog-link');
  await page.selectOption('#form-link select[name=actor_id]', ECHO_KEY);
  // The provider's claims arrive with get.claims on the next refresh.
  await page.waitForFunction((k) => [...document.querySelectorAll('#form-link select[name=provider_id] option')].some((o) => o.value === k),
    provider.key, { timeout: T });
  await page.fill('#form-link input[name=contract_id]', '');
  await page.selectOption('#form-link select[name=provider_id]', provider.key);
  // The ID typed in the earlier link step must not override the provider chosen from the list.
  assert.equal(await page.inputValue('#form-link input[name=provider_id_text]'), '');
  assert.equal(await page.inputValue('#form-link input[name=contract_id]'), 'wasmcloud:httpserver');
  await page.fill('#form-link input[name=values]', `port=${httpPort}`);
  const msg = await submit('form-link');
  assert.equal(await msg.textContent(), 'Link definition published');
  await closeDialog('dialog-link');
  const row = page.locator('#links-table tr[data-link]', { hasText: 'wasmcloud:httpserver' });
  await row.waitFor({ timeout: T });
  assert.match(await row.textContent(), new RegExp(`port=${httpPort}`));
  // The provider binds the port once it has the link: poll until it answers.
  let reply;
  const until = Date.now() + T;
  for (;;) {
    try { reply = await timedGet(`http://127.0.0.1:${httpPort}/from/the/dashboard?step=link`); break; } catch (e) {
      if (Date.now() > until) throw new Error(`nothing answers on port ${httpPort}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  assert.equal(reply.status, 200, reply.text);
  const body = JSON.parse(reply.text);
  assert.equal(body.method, 'GET');
  assert.equal(body.path, '/from/the/dashboard');
  assert.equal(body.query_string, 'step=link');
  rtts.push(reply.ms);
  await page.locator('#links').scrollIntoViewIfNeeded();
  await shot('19-link-http-reaches-echo');
  await expectCommands([
    {
      subject: 'linkdefs.put',
      body: { actor_id: ECHO_KEY, contract_id: 'wasmcloud:httpserver', link_name: 'default', provider_id: provider.key, values: { port: String(httpPort) } },
    },
  ]);
});

test('metrics: counts and the latency chart plot the hosts\' duration_ms', async () => {
  const payload = JSON.stringify({ method: 'GET', path: '/', queryString: '', header: {}, body: [] });
  cli('call', UNPRIV_KEY, 'HttpServer.HandleRequest', payload, '--nats-port', env('WC_NATS_PORT'),
    '--cluster-seed', env('WC_CLUSTER_SEED'));
  for (let i = 0; i < 20; i++) {
    const r = await timedGet(`http://127.0.0.1:${httpPort}/metrics/${i}`);
    assert.equal(r.status, 200, r.text);
    rtts.push(r.ms);
  }
  await page.waitForFunction(
    (k) => Number(document.querySelector(`#metrics-table tr[data-actor="${k}"] .total`)?.textContent) >= 1,
    UNPRIV_KEY, { timeout: T });
  await page.waitForFunction(
    (k) => Number(document.querySelector(`#metrics-table tr[data-actor="${k}"] .total`)?.textContent) >= 21,
    ECHO_KEY, { timeout: T });
  // What the latency chart draws for echo: the chart object's dataset, and the canvas's
  // data-points (the same series, null seconds left out).
  const drawn = await page.evaluate((k) => {
    const canvas = document.getElementById('chart-latency');
    const chart = window.Chart.getChart(canvas);
    const ds = chart.data.datasets.find((d) => d.actorId === k);
    return {
      values: ds ? ds.data.filter((v) => v !== null) : [], label: ds?.label, attr: JSON.parse(canvas.dataset.points)[k],
      table: document.querySelector(`#metrics-table tr[data-actor="${k}"] .latency`).textContent,
    };
  }, ECHO_KEY);
  assert.equal(drawn.label, 'Echo');
  assert.ok(drawn.values.length >= 1, 'the latency chart has no point for echo');
  assert.deepEqual(drawn.attr.map(([, v]) => v), drawn.values);
  // Each point is the mean duration_ms of one second: above zero and below the slowest round
  // trip the test measured for a request that contained it.
  const slowest = Math.max(...rtts);
  for (const v of drawn.values) {
    assert.equal(typeof v, 'number');
    assert.ok(v > 0 && v < slowest, `latency point ${v} ms outside (0, ${slowest}) ms`);
  }
  // The table's latency column is the mean of the plotted seconds.
  const mean = drawn.values.reduce((a, b) => a + b, 0) / drawn.values.length;
  assert.equal(drawn.table, mean.toFixed(2));
  console.log(`latency points for echo (ms): ${drawn.values.map((v) => v.toFixed(3)).join(', ')}; client round trips ${Math.min(...rtts).toFixed(1)}-${slowest.toFixed(1)} ms`);
  await page.locator('#metrics').scrollIntoViewIfNeeded();
  await shot('20-metrics-latency');
  await expectCommands([]);
});

test('stop the provider from the table: it disappears and its port closes', async () => {
  const row = page.locator(`#providers-table tr[data-provider="${provider.key}"][data-host="${providerHost}"]`);
  await row.locator('button.stop').click();
  await row.waitFor({ state: 'detached', timeout: T });
  assert.equal(await page.locator(`#hosts-table tr[data-host="${providerHost}"] .provider-count`).textContent(), '0');
  await page.locator('#event-log li', { hasText: `(default) stopped` }).first().waitFor({ timeout: T });
  let closed = false;
  for (let i = 0; i < 50 && !closed; i++) {
    try { await timedGet(`http://127.0.0.1:${httpPort}/`); await new Promise((r) => setTimeout(r, 100)); } catch { closed = true; }
  }
  assert.ok(closed, `port ${httpPort} still answers after the provider stopped`);
  await page.locator('#providers').scrollIntoViewIfNeeded();
  await shot('21-provider-stopped');
  // Tidy: the link goes too.
  const link = page.locator('#links-table tr[data-link]', { hasText: 'wasmcloud:httpserver' });
  await link.locator('button.delete').click();
  await link.waitFor({ state: 'detached', timeout: T });
  await expectCommands([
    { subject: `cmd.${providerHost}.sp`, body: { provider_ref: provider.key, link_name: 'default' } },
    { subject: 'linkdefs.del', body: { actor_id: ECHO_KEY, contract_id: 'wasmcloud:httpserver', link_name: 'default' } },
  ]);
});

test('Select Host filters the actors table', async () => {
  const hostB = await page.locator('#hosts-table tr[data-host]', { hasText: 'ui-host-b' }).getAttribute('data-host');
  await page.selectOption('#host-filter', hostB);
  await actorRow(UNPRIV_KEY).waitFor({ state: 'detached', timeout: T });
  const hosts = await page.locator('#actors-table tr[data-actor]').evaluateAll((rows) => rows.map((r) => r.dataset.host));
  assert.ok(hosts.every((h) => h === hostB), JSON.stringify(hosts));
  await shot('22-host-filter');
  await page.selectOption('#host-filter', '');
  await expectCount(UNPRIV_KEY, 1);
  await expectCommands([]);
});

test('the tab icon is served (favicon.ico and the linked SVG)', async () => {
  for (const p of ['/favicon.ico', '/favicon.svg']) {
    const r = await fetch(URL_BASE + p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), 'image/svg+xml', p);
    assert.match(await r.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, p);
  }
  assert.equal(await page.locator('link[rel=icon]').getAttribute('href'), '/favicon.svg');
  // The browser itself loads it (an <img> of the same URL decodes to the SVG's size).
  const size = await page.evaluate(() => new Promise((resolve) => {
    const img = new Image();
    img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
    img.onerror = () => resolve(null);
    img.src = '/favicon.ico';
  }));
  assert.deepEqual(size, [32, 32]);
  await expectCommands([]);
  assert.ok(ctlSeen.some((m) => QUERY.test(m.subject)), 'the recorder saw none of the refresher\'s queries');
});

// ------------------------------------------------------------------ notices (issue #17.3)
// Raw events published on the test's nats-server as any NATS client could, through the
// recorder's own connection.

/** Publishes a CloudEvent (control-interface.md 4.2) of `type` on wasmbus.evt.default. */
function publishRawEvent(type, source, data) {
  const payload = JSON.stringify({
    specversion: '1.0', type: `com.wasmcloud.lattice.${type}`, source, id: crypto.randomUUID(),
    time: new Date().toISOString(), datacontenttype: 'application/json', data,
  });
  ctlSocket.write(`PUB wasmbus.evt.default ${Buffer.byteLength(payload)}\r\n${payload}\r\nPING\r\n`);
}

/** The texts of the notices now shown on `p`. */
function noticeTexts(p) {
  return p.locator('#notices .notice').evaluateAll((ns) => ns.map((n) => n.textContent));
}

let second;  // a second page, opened after the history below was made

test('old error events are history: in the event log, never notices; other users\' refusals neither', async () => {
  const marker = `${REGISTRY}/history-marker:1.0.0`;
  assert.equal((await crossSitePost('http://evil.example', 'x')).status, 403);
  publishRawEvent('actor_start_failed', hostA, { public_key: '', actor_ref: marker, error: 'old failure' });
  await page.locator('#event-log li.error', { hasText: 'history-marker' }).first().waitFor({ timeout: T });
  second = await context.newPage();
  second.on('pageerror', (e) => console.error('second page error:', e.message));
  await second.goto(URL_BASE + '/');
  // The history (the old failure, the cross-site refusals of an earlier step) is in the log...
  await second.locator('#event-log li.error', { hasText: 'history-marker' }).first().waitFor({ timeout: T });
  await second.locator('#event-log li.error', { hasText: 'Cross-site request refused' }).first().waitFor({ timeout: T });
  await new Promise((r) => setTimeout(r, 1000));
  // ...and not a notice.
  assert.deepEqual(await noticeTexts(second), []);
  // Another user's refused request, live: logged, but not a notice on this page.
  // Counted before the request: its log entry may reach the page before the POST's answer.
  const before = await second.locator('#event-log li.error', { hasText: 'Cross-site request refused' }).count();
  const refused = await crossSitePost('http://evil.example', 'x');
  assert.equal(refused.status, 403);
  await second.waitForFunction((n) => [...document.querySelectorAll('#event-log li.error')]
    .filter((li) => li.textContent.includes('Cross-site request refused')).length > n, before, { timeout: T });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await noticeTexts(second), []);
  await second.screenshot({ path: path.join(ARTIFACTS, '23-history-no-notices.png'), fullPage: true });
  await expectCommands([]);
});

test('a live lattice failure shows a notice that dismisses itself after a few seconds', async () => {
  publishRawEvent('actor_start_failed', hostA, { public_key: '', actor_ref: `${REGISTRY}/live-marker:1.0.0`, error: 'live failure' });
  const n = second.locator('#notices .notice', { hasText: 'live-marker' });
  await n.waitFor({ timeout: T });
  const shownAt = Date.now();
  await second.screenshot({ path: path.join(ARTIFACTS, '24-live-notice.png') });
  await n.waitFor({ state: 'detached', timeout: 15000 });
  const ms = Date.now() - shownAt;
  assert.ok(ms >= 2000, `the notice left after ${ms} ms, too soon to read`);
  await expectCommands([]);
});

test('a 500 KB unbroken string from the lattice neither widens the page nor reaches it whole', async () => {
  const huge = 'A'.repeat(500 * 1024);
  const fakeHost = 'N' + 'Z'.repeat(55);
  const fakeActor = 'M' + 'Z'.repeat(55);
  // Each event stays under NATS' default max_payload of 1 MiB.
  publishRawEvent('actor_start_failed', hostA, { public_key: '', actor_ref: `failed-${huge}`, error: 'too long' });
  publishRawEvent('actor_started', fakeHost, {
    public_key: fakeActor, image_ref: `ref-${huge}`, instance_id: 'i', annotations: {},
    claims: { name: `name-${'B'.repeat(200 * 1024)}`, revision: 1 },
  });
  await Promise.all([page, second].map(async (p) => {
    await p.locator('#notices .notice', { hasText: 'failed-AAAA' }).first().waitFor({ timeout: T });
    await p.locator('#event-log li', { hasText: 'failed-AAAA' }).first().waitFor({ timeout: T });
    await p.locator(`#actors-table tr[data-actor="${fakeActor}"]`).waitFor({ timeout: T });
    const m = await p.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, viewport: window.innerWidth,
      longest: Math.max(...[...document.querySelectorAll('#event-log li, #actors-table td, #notices .notice')].map((e) => e.textContent.length)),
    }));
    assert.ok(m.scroll <= m.viewport + 2, `page ${m.scroll} px wide in a ${m.viewport} px viewport`);
    assert.ok(m.longest < 20000, `a ${m.longest}-character text reached the page`);
  }));
  await second.screenshot({ path: path.join(ARTIFACTS, '25-long-string.png') });
  await second.close();
  await expectCommands([]);
});

// ------------------------------------------------------------------ applications (issue #16)
// run.sh runs `wasmcloud wadm` on this lattice. A manifest of echo (from the run's registry) is
// put and deployed with the CLI; the Applications view shows it as wadm reports it, the actors
// table marks what wadm started, and stopping it by hand asks first.

const APP = 'ui-app';

/** The text of the next browser dialog (confirm) on `page`, which is dismissed; rejects after T. */
function nextDialog() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { page.off('dialog', on); reject(new Error('no confirmation was asked')); }, T);
    function on(d) { clearTimeout(timer); page.off('dialog', on); resolve(d.message()); d.dismiss().catch(() => {}); }
    page.on('dialog', on);
  });
}

test('applications: a deployed manifest is listed with its version, status and components', async () => {
  const file = path.join(WORK, 'ui-app.yaml');
  fs.writeFileSync(file, `apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: ${APP}
  annotations:
    version: v1
    description: dashboard test
spec:
  components:
    - name: echo
      type: actor
      properties:
        image: ${REGISTRY}/echo:0.3.4
      traits:
        - type: spreadscaler
          properties:
            replicas: 1
`);
  cli('app', '--ctl-port', env('WC_NATS_PORT'), 'deploy', file);
  const row = page.locator(`#apps-table tr[data-app="${APP}"]`);
  await row.waitFor({ timeout: T });
  await page.waitForFunction((app) => document.querySelector(`#apps-table tr[data-app="${app}"] .app-status .status`)?.textContent === 'deployed',
    APP, { timeout: 40000 });
  assert.equal(await row.locator('.deployed-version').textContent(), 'v1');
  assert.equal(await row.locator('.latest-version').textContent(), 'v1');
  assert.match(await row.locator('li[data-component="echo"]').textContent(), /echo \(actor\) deployed/);
  assert.equal(await page.locator('#apps-message').textContent(), '');
  await shot('26-applications');
});

test('applications: echo carries the "managed by wadm" badge, and stopping or scaling it by hand asks first', async () => {
  const badge = page.locator(`#actors-table tr[data-actor="${ECHO_KEY}"] .managed[data-app="${APP}"]`).first();
  await badge.waitFor({ timeout: T });
  assert.equal(await badge.textContent(), `managed by wadm: ${APP}`);
  const row = page.locator(`#actors-table tr[data-actor="${ECHO_KEY}"]`, { has: page.locator('.managed') }).first();
  const host = await row.getAttribute('data-host');
  const countBefore = await row.locator('.count').textContent();
  const mark = ctlSeen.length;
  const asked = nextDialog();
  await row.locator('button.stop').click();
  const message = await asked;
  assert.match(message, new RegExp(`managed by application "${APP}": wadm will put it back`));
  await new Promise((r) => setTimeout(r, 1000));
  // Dismissed: nothing was sent and echo still runs there.
  const stops = ctlSeen.slice(mark).filter((m) => m.subject === `${CTL}cmd.${host}.scale` && JSON.parse(m.body).count === 0);
  assert.deepEqual(stops, []);
  assert.equal(await page.locator(`#actors-table tr[data-actor="${ECHO_KEY}"][data-host="${host}"] .count`).textContent(), countBefore);
  await shot('27-managed-badge');
  // Scaling it by hand asks too; dismissed, the form says so and nothing is sent.
  await row.locator('button.scale').click();
  await page.locator('#dialog-scale').waitFor({ state: 'visible' });
  await page.fill('#form-scale input[name=count]', '3');
  const askedScale = nextDialog();
  const msg = await submit('form-scale');
  assert.match(await askedScale, new RegExp(`managed by application "${APP}": wadm will put it back. Scale it anyway`));
  assert.equal(await msg.textContent(), 'Not scaled: wadm manages this actor');
  await closeDialog('dialog-scale');
  await new Promise((r) => setTimeout(r, 500));
  const scales = ctlSeen.slice(mark).filter((m) => m.subject === `${CTL}cmd.${host}.scale` && JSON.parse(m.body).count === 3);
  assert.deepEqual(scales, []);
  ctlMark = ctlSeen.length;  // wadm's own commands are not the dashboard's
});

test('applications: Undeploy in the view (CSRF-guarded POST) removes what wadm started', async () => {
  const row = page.locator(`#apps-table tr[data-app="${APP}"]`);
  await row.locator('button.undeploy').click();
  await page.waitForFunction((app) => document.querySelector(`#apps-table tr[data-app="${app}"] .app-status .status`)?.textContent === 'undeployed',
    APP, { timeout: T });
  assert.equal(await row.locator('.deployed-version').textContent(), '—');
  await page.locator(`#actors-table .managed[data-app="${APP}"]`).first().waitFor({ state: 'detached', timeout: T });
  // Without the token the same POST is refused.
  const r = await fetch(`${URL_BASE}/api/apps/deploy`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: APP }) });
  assert.equal(r.status, 403);
  await shot('28-undeployed');
  ctlMark = ctlSeen.length;
});

test('applications: with no wadm on the lattice the view says so plainly', async () => {
  const port = await freePort();
  const child = spawn(WASMCLOUD, ['dashboard', '--port', String(port), '--nats-port', env('WC_NATS_PORT'),
    '--lattice-prefix', 'nowadm', '--refresh-ms', '2000'], { stdio: 'ignore' });
  const p = await context.newPage();
  try {
    const until = Date.now() + T;
    for (;;) {
      try { await p.goto(`http://127.0.0.1:${port}/`); break; } catch (e) {
        if (Date.now() > until) throw e;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    await p.waitForFunction(() => document.getElementById('apps-message')?.textContent.startsWith('No wadm service answers'), null, { timeout: T });
    assert.equal(await p.locator('#apps-message').getAttribute('data-available'), 'false');
    assert.equal(await p.locator('#apps-table tbody tr.empty').textContent(), 'Applications unavailable');
    assert.deepEqual(await noticeTexts(p), []);  // not an error storm
    await p.screenshot({ path: path.join(ARTIFACTS, '29-no-wadm.png'), fullPage: true });
  } finally {
    await p.close();
    child.kill('SIGTERM');
  }
});
