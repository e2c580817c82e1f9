// README's "Using wasmCloud's own client (v1)", as written: `wasmcloud up` (started by run.sh
// with a temporary HOME and free ports) opens NATS over WebSocket, and the unmodified
// @wasmcloud/lattice-client-core finds up's host there: hosts.list (KV wadm_state) and
// hosts.get. The WebSocket URL is the one up recorded in its lattice.json.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

globalThis.WebSocket = WebSocket;
const { LatticeClient } = await import('@wasmcloud/lattice-client-core');

const ctx = JSON.parse(readFileSync(process.env.WC_UP_LATTICE_JSON, 'utf8'));
let client;
after(async () => client?.instance.disconnect());

test("the client lists and details wasmcloud up's host over up's WebSocket listener", async () => {
  assert.equal(ctx.websocket_url, process.env.WC_UP_WS_URL);
  client = new LatticeClient({ config: { latticeUrl: ctx.websocket_url, latticeId: ctx.lattice_prefix } });
  let hosts;
  for (let i = 0; i < 100; i++) {
    try {
      hosts = await client.hosts.list();
      if (hosts.response.some((h) => h.id === ctx.host_id)) break;
    } catch { /* wadm_state not written yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(hosts?.response.some((h) => h.id === ctx.host_id), JSON.stringify(hosts));
  const detail = await client.hosts.get(ctx.host_id);
  assert.equal(detail.success, true, detail.message);
  assert.equal(detail.response.host_id, ctx.host_id);
});
