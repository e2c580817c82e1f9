// The v1 control interface (issue #15) driven by wasmCloud's own lattice client, unmodified:
// @wasmcloud/lattice-client-core 0.2.3 over NATS WebSocket against a real `wasmcloud host`
// (started by run.sh with nats-server, docker-registry and the pushed echo actor and httpserver
// provider archive). Steps run in order and build on each other's state; each one also asks the
// OTP 0.63 interface (`wasmcloud ctl ... -o json`, `wasmcloud call`) that the same state shows
// there. Bad input goes to the v1 subjects over a raw NATS connection (nats.ws, the client's own
// transport) and must get {success: false, message}.
//
// Facts used (../shared/spec/v1-and-wadm.md): the client reads hosts from KV wadm_state key
// host_{lattice} (2.1), configs from KV CONFIGDATA_{lattice} (2.2), sends requests under
// wasmbus.ctl.v1.{lattice} (3), and v1 events arrive on wasmbus.evt.{lattice}.{type} (4.1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { WebSocket } from 'ws';

// Node 20 has no global WebSocket; the client (through nats.ws) needs one (spec 1.2).
globalThis.WebSocket = WebSocket;
const { LatticeClient, canConnect } = await import('@wasmcloud/lattice-client-core');
const { connect, StringCodec } = await import('nats.ws');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/v1client/run.sh)`);
  return v;
};
const WS_URL = env('WC_WS_URL');
const HOST = env('WC_HOST_ID');
const REGISTRY = env('WC_REGISTRY');
const HTTP_PORT = Number(env('WC_HTTP_PORT'));
const LATTICE = 'default';
const V1 = `wasmbus.ctl.v1.${LATTICE}`;
const ECHO_KEY = 'MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5';
const ECHO_REF = `${REGISTRY}/echo:0.3.4`;
const ECHO_ID = 'echo';  // the v1 component id this test names
const HTTP_REF = `${REGISTRY}/httpserver:0.1.0`;
const HTTP_ID = 'httpserver';  // the v1 provider id this test names
const HTTP_CONFIG = 'echo-http';  // named config holding the listen address
const sc = StringCodec();

// ---- OTP side: the project's own CLI, on the same NATS server (nats://, not WebSocket) ----------
function cli(...args) {
  return execFileSync(env('WC_WASMCLOUD'), args, { encoding: 'utf8', timeout: 30_000 });
}
function ctl(...args) {
  return JSON.parse(cli('ctl', '--no-context', '-p', env('WC_NATS_PORT'), '-o', 'json', ...args));
}
const otpInventory = () => ctl('get', 'inventory', HOST).inventory;
const otpLinks = () => ctl('link', 'query').links;
function otpEchoCount() {
  const a = (otpInventory().actors ?? []).find((x) => x.id === ECHO_KEY);
  return a ? (a.instances ?? []).length : 0;
}
/** An OTP signed invocation of echo (what `wasmcloud call` prints with -o json). */
function callEcho(path) {
  const payload = JSON.stringify({ method: 'GET', path, queryString: 'via=otp', header: {}, body: 'hello' });
  return JSON.parse(cli('call', ECHO_KEY, 'HttpServer.HandleRequest', payload, '-p', env('WC_NATS_PORT'),
    '-c', env('WC_CLUSTER_SEED'), '-o', 'json', '-t', '10000'));
}

// ---- the dashboard (src/web): an OTP client; what v1 requests start must show there too -------
async function dashboard() {
  const r = await fetch(`${env('WC_DASHBOARD_URL')}/api/state`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  return r.json();
}

// ---- helpers ------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `probe` (sync or async) until it returns a truthy value; fails after `ms` with `what`. */
async function eventually(what, probe, ms = 20_000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(200);
  }
}

/** For probes of `eventually`: true when `ok`, else throws what was seen (the failure names it). */
function seen(ok, what) {
  if (ok) return true;
  throw new Error(`seen ${JSON.stringify(what)}`);
}

let client;  // the LatticeClient under test
let nc;      // a raw nats.ws connection: events and bad-input requests
const events = [];  // {subject, type, data} of every wasmbus.evt.default.> message (v1 events)

/** Waits for a v1 event of `type` (subject suffix) matching `pred`, received after index `from`. */
function waitEvent(type, pred = () => true, from = 0, ms = 30_000) {
  return eventually(`a ${type} event`, () =>
    events.slice(from).find((e) => e.subject === `wasmbus.evt.${LATTICE}.${type}` && pred(e.data ?? {})), ms);
}
/** A raw request on a v1 subject; returns the parsed reply. */
async function rawRequest(subject, body, timeout = 10_000) {
  const data = body === undefined ? undefined : typeof body === 'string' ? sc.encode(body) : body;
  const m = await nc.request(subject, data, { timeout });
  return JSON.parse(sc.decode(m.data));
}
/** The host's entry in KV wadm_state host_default, as the client returns it. */
async function listedHost() {
  const r = await client.hosts.list();
  assert.equal(r.success, true, r.message);
  return r.response.find((h) => h.id === HOST);
}
/** echo's count in a components map keyed by v1 id (or by its module key). */
const echoCountIn = (components) => components?.[ECHO_ID] ?? components?.[ECHO_KEY] ?? 0;
async function hostDetail() {
  const r = await client.hosts.get(HOST);
  assert.equal(r.success, true, `host.get: ${r.message}`);
  return r.response;
}
const echoIn = (detail) => detail.components.find((c) => c.id === ECHO_ID || c.id === ECHO_KEY);
const httpIn = (detail) => detail.providers.find((p) => p.id === HTTP_ID);
/** Asserts a v1 reply refused the request with a reason. */
function assertRefused(reply, what) {
  assert.equal(reply.success, false, `${what}: expected success:false, got ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.message, 'string', `${what}: no message`);
  assert.ok(reply.message.length > 0, `${what}: empty message`);
}

before(async () => {
  client = new LatticeClient({ config: { latticeUrl: WS_URL, latticeId: LATTICE, retryCount: 100 } });
  nc = await connect({ servers: WS_URL, name: 'v1client-test-raw' });
  nc.subscribe(`wasmbus.evt.${LATTICE}.>`, {
    callback: (err, m) => {
      if (err) return;
      let ev = {};
      try { ev = JSON.parse(sc.decode(m.data)); } catch { /* recorded as empty */ }
      events.push({ subject: m.subject, type: ev.type, data: ev.data });
    },
  });
  await nc.flush();
});

after(async () => {
  await client?.instance.disconnect();
  await nc?.drain();
});

// ---- the steps ----------------------------------------------------------------------------------

test('the client connects over WebSocket', async () => {
  assert.equal(await canConnect(WS_URL), true);
});

test('hosts.list reads the host from KV wadm_state', async () => {
  const h = await eventually('the host in wadm_state host_default', listedHost);
  assert.equal(h.friendly_name, 'v1-client-host');
  assert.equal(h.labels.v1test, 'yes');
  assert.equal(h.lattice, LATTICE);
  assert.equal(typeof h.version, 'string');
  assert.equal(typeof h.uptime_seconds, 'number');
  assert.deepEqual(h.providers, {});  // the client turned the (required) providers array into a map
  assert.equal(echoCountIn(h.components), 0);
});

test('hosts.get answers the host detail', async () => {
  const d = await hostDetail();
  assert.equal(d.host_id, HOST);
  assert.equal(d.friendly_name, 'v1-client-host');
  assert.equal(d.labels.v1test, 'yes');
  assert.equal(typeof d.uptime_seconds, 'number');
  assert.equal(typeof d.uptime_human, 'string');
  assert.ok(Array.isArray(d.components) && Array.isArray(d.providers));
  // The OTP inventory of the same host agrees.
  const inv = otpInventory();
  assert.equal(inv.host_id, HOST);
  assert.equal(inv.labels.v1test, 'yes');
  // hosts.list({expand}) asks host.get for every host listed in wadm_state.
  const all = await client.hosts.list({ expand: true });
  assert.equal(all.success, true, all.message);
  assert.ok(all.response.some((x) => x.host_id === HOST));
});

test('components.scale echo to 2, and both protocols see and invoke 2 instances', async () => {
  const mark = events.length;
  const ack = await client.components.scale({
    host_id: HOST, component_ref: ECHO_REF, component_id: ECHO_ID, max_instances: 2,
    annotations: { 'v1client.test': 'scale' }, config: [],
  });
  assert.equal(ack.success, true, `scale ack: ${ack.message}`);
  const ev = await waitEvent('component_scaled', (d) => d.max_instances === 2 || d.count === 2, mark);
  assert.ok([ECHO_ID, ECHO_KEY].includes(ev.data.component_id), JSON.stringify(ev.data));
  const d = await eventually('echo with 2 instances in host.get', async () => {
    const c = echoIn(await hostDetail());
    return c && c.max_instances === 2 && c;
  });
  assert.equal(d.image_ref, ECHO_REF);
  assert.equal(d.annotations?.['v1client.test'], 'scale');
  // OTP inventory: the same actor with 2 instances.
  assert.equal(otpEchoCount(), 2);
  // The dashboard shows the actor with its 2 instances on this host.
  await eventually('echo x2 in the dashboard', async () =>
    (await dashboard()).actors.some((a) => a.id === ECHO_KEY && a.host_id === HOST && a.count === 2));
  // KV wadm_state (hosts.list) follows, under the id host.get gives it (washboard joins the two).
  await eventually(`echo x2 as ${d.id} in hosts.list`, async () => {
    const h = await listedHost();
    return seen(h.components[d.id] === 2, h.components);
  });
  // The instances answer (an OTP signed invocation through the lattice).
  const r = callEcho('/v1/scaled');
  assert.equal(r.success, true);
  assert.equal(r.response.statusCode ?? r.response.status_code ?? 200, 200);
  const body = JSON.parse(r.response.body);
  assert.equal(body.path, '/v1/scaled');
  assert.equal(body.method, 'GET');
});

test('hosts.putLabel / deleteLabel change the labels both protocols report', async () => {
  let mark = events.length;
  const put = await client.hosts.putLabel(HOST, 'zone', 'v1-east');
  assert.equal(put.success, true, put.message);
  await waitEvent('labels_changed', (d) => d.labels?.zone === 'v1-east', mark);
  assert.equal((await hostDetail()).labels.zone, 'v1-east');
  assert.equal(otpInventory().labels.zone, 'v1-east');
  await eventually('the label in the dashboard', async () =>
    (await dashboard()).hosts.find((h) => h.id === HOST)?.labels?.zone === 'v1-east');
  await eventually('the label in wadm_state', async () => {
    const h = await listedHost();
    return seen(h.labels.zone === 'v1-east', h.labels);
  });
  mark = events.length;
  const del = await client.hosts.deleteLabel(HOST, 'zone');
  assert.equal(del.success, true, del.message);
  await waitEvent('labels_changed', (d) => d.labels && !('zone' in d.labels), mark);
  assert.equal((await hostDetail()).labels.zone, undefined);
  assert.equal(otpInventory().labels.zone, undefined);
  assert.equal((await hostDetail()).labels.v1test, 'yes');  // the others stay
});

test('configs.put / get / list keep named config in CONFIGDATA_default', async () => {
  const mark = events.length;
  const put = await client.configs.put(HTTP_CONFIG, { address: `127.0.0.1:${HTTP_PORT}` });
  assert.equal(put.success, true, put.message);
  await waitEvent('config_set', (d) => d.config_name === HTTP_CONFIG || d.name === HTTP_CONFIG, mark);
  const got = await client.configs.get(HTTP_CONFIG);
  assert.equal(got.success, true, got.message);
  assert.deepEqual(got.response, { address: `127.0.0.1:${HTTP_PORT}` });
  const keys = await client.configs.list();
  assert.equal(keys.success, true, keys.message);
  assert.ok(keys.response.includes(HTTP_CONFIG), JSON.stringify(keys.response));
  const expanded = await client.configs.list({ expand: true });
  assert.equal(expanded.success, true, expanded.message);
  assert.deepEqual(expanded.response.find((c) => c.name === HTTP_CONFIG)?.entries,
    { address: `127.0.0.1:${HTTP_PORT}` });
  // A second config, deleted again: gone from get and list.
  assert.equal((await client.configs.put('v1-scratch', { a: '1', b: 'two' })).success, true);
  assert.deepEqual((await client.configs.get('v1-scratch')).response, { a: '1', b: 'two' });
  const delMark = events.length;
  const del = await client.configs.delete('v1-scratch');
  assert.equal(del.success, true, del.message);
  await waitEvent('config_deleted', (d) => d.config_name === 'v1-scratch' || d.name === 'v1-scratch', delMark);
  const after = await client.configs.get('v1-scratch');
  assert.ok(after.response === undefined || Object.keys(after.response).length === 0,
    `deleted config still answers ${JSON.stringify(after)}`);
  assert.ok(!(await client.configs.list()).response.includes('v1-scratch'));
});

test('providers.start starts the httpserver provider (subject without a host id)', async () => {
  const mark = events.length;
  const ack = await client.providers.start({
    host_id: HOST, provider_ref: HTTP_REF, provider_id: HTTP_ID, annotations: { 'v1client.test': 'start' },
  });
  assert.equal(ack.success, true, `start ack: ${ack.message}`);
  await waitEvent('provider_started', (d) => d.provider_id === HTTP_ID, mark);
  const p = await eventually('the provider in host.get', async () => httpIn(await hostDetail()));
  assert.equal(p.image_ref, HTTP_REF);
  // OTP inventory lists the provider process (its service key, contract wasmcloud:httpserver).
  const otp = (otpInventory().providers ?? []).find((x) => x.contract_id === 'wasmcloud:httpserver');
  assert.ok(otp, `OTP inventory: ${JSON.stringify(otpInventory().providers)}`);
  assert.match(otp.id, /^V[A-Z2-7]{55}$/);
  await eventually('the provider in the dashboard', async () =>
    (await dashboard()).providers.some((x) => x.id === otp.id && x.host_id === HOST));
  await eventually('the provider under its v1 id in hosts.list', async () => {
    const h = await listedHost();
    return seen(JSON.stringify(h.providers) === JSON.stringify({ [HTTP_ID]: 1 }), h.providers);
  });
});

test('links.put wasi:http from the provider to echo serves echo over real HTTP', async () => {
  const mark = events.length;
  const link = {
    source_id: HTTP_ID, target: ECHO_ID, name: 'default', wit_namespace: 'wasi', wit_package: 'http',
    interfaces: ['incoming-handler'], source_config: [HTTP_CONFIG], target_config: [],
  };
  const put = await client.links.put(link);
  assert.equal(put.success, true, `link.put: ${put.message}`);
  await waitEvent('linkdef_set', (d) => d.source_id === HTTP_ID, mark);
  const listed = await client.links.list();
  assert.equal(listed.success, true, listed.message);
  const l = listed.response.find((x) => x.source_id === HTTP_ID && x.wit_package === 'http');
  assert.ok(l, JSON.stringify(listed.response));
  assert.equal(l.target, ECHO_ID);
  assert.deepEqual(l.interfaces, ['incoming-handler']);
  assert.deepEqual(l.source_config, [HTTP_CONFIG]);
  // OTP: the equivalent link definition, with the named config as its values.
  const otp = otpLinks().find((x) => x.actor_id === ECHO_KEY && x.contract_id === 'wasmcloud:httpserver');
  assert.ok(otp, `OTP links: ${JSON.stringify(otpLinks())}`);
  assert.equal(otp.link_name, 'default');
  assert.equal(otp.values?.address, `127.0.0.1:${HTTP_PORT}`);
  await eventually('the link in the dashboard', async () =>
    (await dashboard()).links.some((x) => x.actor_id === ECHO_KEY && x.contract_id === 'wasmcloud:httpserver'));
  // Real HTTP through the provider to echo's instances.
  const res = await eventually(`HTTP on 127.0.0.1:${HTTP_PORT}`, async () => {
    const r = await fetch(`http://127.0.0.1:${HTTP_PORT}/v1/over-http?x=1`, { signal: AbortSignal.timeout(5000) });
    return r;
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.path, '/v1/over-http');
  assert.equal(body.query_string, 'x=1');
  assert.equal(body.method, 'GET');

  // A link with no wasmbus counterpart is stored and listed, makes no OTP link definition, and
  // says so; deleting it is acknowledged.
  const blob = { source_id: ECHO_ID, target: 'some-blobstore', name: 'default', wit_namespace: 'wasi',
    wit_package: 'blobstore', interfaces: ['blobstore'], source_config: [], target_config: [] };
  const stored = await client.links.put(blob);
  assert.equal(stored.success, true, stored.message);
  assert.match(stored.message, /no wasmbus contract/);
  assert.ok((await client.links.list()).response.some((x) => x.wit_package === 'blobstore' && x.source_id === ECHO_ID));
  assert.equal(otpLinks().length, 1, JSON.stringify(otpLinks()));
  const gone = await client.links.delete({ source_id: ECHO_ID, link_name: 'default', wit_namespace: 'wasi', wit_package: 'blobstore' });
  assert.equal(gone.success, true, gone.message);
  assert.ok(!(await client.links.list()).response.some((x) => x.wit_package === 'blobstore'));
});

test('bad input on v1 subjects gets {success:false, message}', async () => {
  const cases = [
    ['component.scale malformed JSON', `${V1}.component.scale.${HOST}`, '{"host_id": '],
    ['component.scale without a reference', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: '', component_id: 'x1', max_instances: 1 })],
    ['component.scale with a bad component id', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: ECHO_REF, component_id: 'no spaces.or dots', max_instances: 1 })],
    ['component.scale with a negative count', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: ECHO_REF, component_id: 'neg', max_instances: -1 })],
    ['component.update malformed JSON', `${V1}.component.update.${HOST}`, 'not json'],
    ['label.put malformed JSON', `${V1}.label.put.${HOST}`, '{'],
    ['label.put without a key', `${V1}.label.put.${HOST}`, JSON.stringify({ value: 'v' })],
    ['label.del malformed JSON', `${V1}.label.del.${HOST}`, '['],
    ['provider.start malformed JSON', `${V1}.provider.start`, '{"provider_ref"'],
    ['provider.start without a reference', `${V1}.provider.start`,
      JSON.stringify({ host_id: HOST, provider_ref: '', provider_id: 'p1', annotations: {} })],
    ['provider.stop malformed JSON', `${V1}.provider.stop.${HOST}`, '}{'],
    ['component.scale with an empty body', `${V1}.component.scale.${HOST}`, ''],
    ['component.scale naming another host in the body', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: 'NOTHERHOST', component_ref: ECHO_REF, component_id: 'other', max_instances: 1 })],
    ['component.scale with max_instances and count disagreeing', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: ECHO_REF, component_id: 'both', max_instances: 1, count: 3 })],
    ['component.scale with a huge count', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: ECHO_REF, component_id: 'huge', max_instances: 1e9 })],
    ['component.scale with an oversized reference', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: `${REGISTRY}/${'x'.repeat(600_000)}:1`, component_id: 'big', max_instances: 1 })],
    ['component.scale with too many annotations', `${V1}.component.scale.${HOST}`,
      JSON.stringify({ host_id: HOST, component_ref: ECHO_REF, component_id: 'ann', max_instances: 1,
        annotations: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'])) })],
    ['label.put of a hostcore.* label', `${V1}.label.put.${HOST}`, JSON.stringify({ key: 'hostcore.os', value: 'plan9' })],
    ['provider.start with a bad provider id', `${V1}.provider.start`,
      JSON.stringify({ host_id: HOST, provider_ref: HTTP_REF, provider_id: 'bad id', annotations: {} })],
    ['host.stop with a mistyped timeout', `${V1}.host.stop.${HOST}`, JSON.stringify({ timeout: 'soon' })],
    ['link.put malformed JSON', `${V1}.link.put`, '{"source_id":'],
    ['link.put without a source', `${V1}.link.put`,
      JSON.stringify({ target: ECHO_ID, wit_namespace: 'wasi', wit_package: 'http', interfaces: ['incoming-handler'] })],
    ['link.del malformed JSON', `${V1}.link.del`, 'null,'],
    ['link.put naming a config that does not exist', `${V1}.link.put`,
      JSON.stringify({ source_id: HTTP_ID, target: ECHO_ID, name: 'cfgless', wit_namespace: 'wasi', wit_package: 'http',
        interfaces: ['incoming-handler'], source_config: ['no-such-config'], target_config: [] })],
    ['link.put wasi:http whose source is not a provider', `${V1}.link.put`,
      JSON.stringify({ source_id: ECHO_ID, target: ECHO_ID, name: 'backwards', wit_namespace: 'wasi', wit_package: 'http',
        interfaces: ['incoming-handler'], source_config: [], target_config: [] })],
    ['config.put malformed JSON', `${V1}.config.put.v1-bad`, '{"a":'],
    ['config.put with a non-string value', `${V1}.config.put.v1-bad`, JSON.stringify({ a: 1 })],
  ];
  const failures = [];
  for (const [what, subject, body] of cases) {
    try {
      const reply = await rawRequest(subject, body);
      if (reply.success !== false || typeof reply.message !== 'string' || reply.message === '')
        failures.push(`${what}: sent ${subject} ${body} -> ${JSON.stringify(reply)}`);
    } catch (e) {
      failures.push(`${what}: sent ${subject} ${body} -> ${e.message}`);
    }
  }
  assert.deepEqual(failures, []);
  // Nothing half-done: no component, provider or config came of it.
  const d = await hostDetail();
  assert.deepEqual(d.components.map((c) => c.id).filter((id) => ![ECHO_ID, ECHO_KEY].includes(id)), []);
  assert.ok(!(await client.configs.list()).response.includes('v1-bad'));
  assert.equal(d.labels['hostcore.os'], 'linux');
  assert.equal(d.host_id, HOST);  // still running after the refused host.stop
  // Through the client: a label without a key, an update or a stop of what does not run, a
  // provider start naming a host that is not there (relayed, then refused), an unknown host
  // (nobody answers: no responders).
  assertRefused(await client.hosts.putLabel(HOST, '', 'x'), 'putLabel with an empty key');
  assertRefused(await client.components.update({ host_id: HOST, component_id: 'nosuch', new_component_ref: ECHO_REF, annotations: {} }),
    'components.update of a component not running');
  assertRefused(await client.providers.stop({ host_id: HOST, provider_id: 'nosuch' }), 'providers.stop of a provider not running');
  assertRefused(await client.providers.start({ host_id: 'NNOSUCHHOST', provider_ref: HTTP_REF, provider_id: 'p2', annotations: {} }),
    'providers.start on a host that is not there');
  await assert.rejects(client.hosts.get('NUNKNOWNHOSTUNKNOWNHOSTUNKNOWNHOSTUNKNOWNHOSTUNKNOWNHOST'));
});

test('links.delete and providers.stop undo the HTTP path', async () => {
  let mark = events.length;
  const del = await client.links.delete({ source_id: HTTP_ID, link_name: 'default', wit_namespace: 'wasi', wit_package: 'http' });
  assert.equal(del.success, true, del.message);
  await waitEvent('linkdef_deleted', (d) => d.source_id === HTTP_ID, mark);
  assert.ok(!(await client.links.list()).response.some((x) => x.source_id === HTTP_ID));
  assert.ok(!otpLinks().some((x) => x.actor_id === ECHO_KEY && x.contract_id === 'wasmcloud:httpserver'));
  mark = events.length;
  const stop = await client.providers.stop({ host_id: HOST, provider_id: HTTP_ID });
  assert.equal(stop.success, true, stop.message);
  await waitEvent('provider_stopped', (d) => d.provider_id === HTTP_ID, mark);
  await eventually('the provider gone from host.get', async () => !httpIn(await hostDetail()));
  assert.ok(!(otpInventory().providers ?? []).some((x) => x.contract_id === 'wasmcloud:httpserver'));
  assert.equal((await client.configs.delete(HTTP_CONFIG)).success, true);
});

test('components.scale echo to 0 stops it on both protocols', async () => {
  const mark = events.length;
  const ack = await client.components.scale({
    host_id: HOST, component_ref: ECHO_REF, component_id: ECHO_ID, max_instances: 0, annotations: {}, config: [],
  });
  assert.equal(ack.success, true, ack.message);
  await waitEvent('component_scaled', (d) => d.max_instances === 0 || d.count === 0, mark);
  await eventually('echo gone from host.get', async () => !echoIn(await hostDetail()));
  assert.equal(otpEchoCount(), 0);
  await eventually('echo gone from the dashboard', async () =>
    !(await dashboard()).actors.some((a) => a.id === ECHO_KEY && a.host_id === HOST));
  await eventually('echo gone from wadm_state', async () => {
    const h = await listedHost();
    return seen(echoCountIn(h.components) === 0, h.components);
  });
});

test('an actor started and stopped through OTP is seen through v1', async () => {
  let mark = events.length;
  ctl('start', 'actor', ECHO_REF, '--count', '1', '--host-id', HOST);  // waits for actor_started
  const c = await eventually('echo in host.get after the OTP start', async () => {
    const d = await hostDetail();
    return seen(echoIn(d)?.max_instances === 1, d.components) && echoIn(d);
  });
  assert.equal(c.image_ref, ECHO_REF);
  await waitEvent('component_scaled', (d) => [ECHO_ID, ECHO_KEY].includes(d.component_id) && d.max_instances === 1, mark);
  await eventually('echo x1 in wadm_state', async () => {
    const h = await listedHost();
    return seen(echoCountIn(h.components) === 1, h.components);
  });
  mark = events.length;
  ctl('stop', 'actor', HOST, ECHO_KEY);  // waits for actor_stopped
  await eventually('echo gone from host.get after the OTP stop', async () => !echoIn(await hostDetail()));
  await waitEvent('component_scaled', (d) => [ECHO_ID, ECHO_KEY].includes(d.component_id) && d.max_instances === 0, mark);
});

test('a link definition put through OTP is listed and deleted through v1', async () => {
  const provider = 'VBFYRG6AOVG54MXC6ZJJA27VNX4S5W7TZYMXNIGXJKKMXJVIKLF6NNRC';  // the httpserver archive's key
  ctl('link', 'put', ECHO_KEY, provider, 'wasmcloud:httpserver', '--link-name', 'otp', 'port=1');
  const otpHas = () => otpLinks().some((x) => x.actor_id === ECHO_KEY && x.link_name === 'otp');
  try {
    assert.ok(otpHas());
    const listed = await client.links.list();
    assert.equal(listed.success, true, listed.message);
    const l = listed.response.find((x) => x.name === 'otp');
    assert.ok(l, `links.list: ${JSON.stringify(listed.response)}`);
    assert.equal(l.wit_namespace, 'wasi');
    assert.equal(l.wit_package, 'http');
    assert.deepEqual(l.interfaces, ['incoming-handler']);
    assert.ok([provider, HTTP_ID].includes(l.source_id), l.source_id);
    assert.ok([ECHO_KEY, ECHO_ID].includes(l.target), l.target);
    const del = await client.links.delete({ source_id: l.source_id, link_name: 'otp', wit_namespace: 'wasi', wit_package: 'http' });
    assert.equal(del.success, true, del.message);
    await eventually('the OTP link gone from get.links', () => !otpHas());
    assert.ok(!(await client.links.list()).response.some((x) => x.name === 'otp'));
  } finally {
    if (otpHas()) ctl('link', 'del', ECHO_KEY, 'wasmcloud:httpserver', '--link-name', 'otp');
  }
});

// Last: it stops the host.
test('hosts.stop stops the host: host_stopped, and it leaves wadm_state and the OTP ping', async () => {
  const mark = events.length;
  const ack = await client.hosts.stop(HOST);
  assert.equal(ack.success, true, ack.message);
  await waitEvent('host_stopped', () => true, mark);
  await eventually('the host gone from hosts.list', async () => {
    const r = await client.hosts.list();
    return seen(r.success && !r.response.some((h) => h.id === HOST), r.response.map((h) => h.id));
  });
  await eventually('no host answering the OTP ping', () => ctl('get', 'hosts').hosts.length === 0);
});
