// Turns deploy/kubernetes into pods for `podman kube play` on one machine with host networking
// (tests/packaging/kube_play_test.sh). The pod specs are the manifests' pod templates; only what
// one machine without a cluster requires is changed, and nothing else:
//  - the hub StatefulSet becomes one Pod `nats-hub-0` (its volumeClaimTemplate an emptyDir, no
//    cluster routes: a single node), the host Deployment two Pods `wasmcloud-host-a`/`-b`;
//  - host networking (`hostNetwork: true`; podman's own pod networks are not used here), so all
//    pods share the host's network and every listen port is a free loopback port the
//    test chose (hub client/WebSocket/leaf/monitor, each leaf's client and monitor, each host's
//    NATS ports and metrics port), in per-pod copies of the ConfigMaps; the leaf remote names
//    the hub's leaf port on 127.0.0.1 instead of the Service `nats-hub`;
//  - what a cluster fills in: `fieldRef` values (the pod names) become literals, the Secret
//    reference becomes the test's cluster seed as a literal variable;
//  - probes are left out (podman would run them from systemd timers; systemd is not PID 1 here)
//    and so are container ports (nothing to publish on the host's network);
//  - the host pods get WASMCLOUD_ALLOW_FILE_LOAD=true and a read-only hostPath volume /actors
//    with the test's actor.
// Usage: node kube_play.mjs DEPLOY_DIR OUT_DIR SETTINGS_JSON; writes OUT_DIR/{hub,host-a,host-b}.yaml.
// SETTINGS_JSON: {"hub":{"client","websocket","leaf","monitor"},"a":{"client","monitor",
// "metrics"},"b":{...},"seed":"SC...","actors":"/dir"}.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { render } from "./render.mjs";

const [deployDir, outDir, settingsFile] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
const { objects } = render(deployDir);
const get = (kind, name) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`deploy/kubernetes has no ${kind} ${name}`);
  return structuredClone(o);
};
/** `text` with `from` replaced by `to`; throws when `from` is absent (the manifests changed). */
const swap = (text, from, to) => {
  if (!(from instanceof RegExp ? from.test(text) : text.includes(from)))
    throw new Error(`kube_play.mjs: '${from}' not found in a NATS configuration`);
  return text.replace(from, to);
};
const configMap = (name, data) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
/** A container of a pod template without what a cluster only (probes, ports) uses. */
function container(c, podName) {
  delete c.readinessProbe;
  delete c.livenessProbe;
  delete c.startupProbe;
  delete c.ports;
  for (const e of c.env ?? []) {
    if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") {
      delete e.valueFrom;
      e.value = podName;
    }
  }
  return c;
}
const write = (file, docs) =>
  fs.writeFileSync(path.join(outDir, file), docs.map((d) => YAML.stringify(d, { blockQuote: "literal", lineWidth: 0 })).join("---\n"));
fs.mkdirSync(outDir, { recursive: true });

// ------------------------------------------------------------------------------------- hub
{
  const sts = get("StatefulSet", "nats-hub");
  const cm = get("ConfigMap", "nats-hub-config");
  const h = cfg.hub;
  let conf = cm.data["nats.conf"];
  conf = swap(conf, "listen: 0.0.0.0:4222", `listen: 127.0.0.1:${h.client}`);
  conf = swap(conf, "http: 0.0.0.0:8222", `http: 127.0.0.1:${h.monitor}`);
  conf = swap(conf, /^cluster \{[\s\S]*?^\}\n/m, "");
  conf = swap(conf, /websocket \{\n(\s*)port: 4223/, `websocket {\n$1host: 127.0.0.1\n$1port: ${h.websocket}`);
  conf = swap(conf, /leafnodes \{\n(\s*)port: 7422/, `leafnodes {\n$1host: 127.0.0.1\n$1port: ${h.leaf}`);
  cm.data["nats.conf"] = conf;
  delete cm.metadata.namespace;
  const name = `${sts.metadata.name}-0`;
  const spec = sts.spec.template.spec;
  spec.containers = spec.containers.map((c) => container(c, name));
  for (const t of sts.spec.volumeClaimTemplates ?? []) spec.volumes.push({ name: t.metadata.name, emptyDir: {} });
  spec.hostNetwork = true;
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, labels: sts.spec.template.metadata.labels }, spec };
  write("hub.yaml", [cm, pod]);
}

// ------------------------------------------------------------------------------------- hosts
for (const x of ["a", "b"]) {
  const dep = get("Deployment", "wasmcloud-host");
  const p = cfg[x];
  const name = `${dep.metadata.name}-${x}`;
  const env = get("ConfigMap", "wasmcloud-config");
  env.metadata = { name: `wasmcloud-config-${x}` };
  Object.assign(env.data, {
    WASMCLOUD_CTL_PORT: String(p.client),
    WASMCLOUD_RPC_PORT: String(p.client),
    WASMCLOUD_PROV_RPC_PORT: String(p.client),
    WASMCLOUD_METRICS_HOST: "127.0.0.1",
    WASMCLOUD_METRICS_PORT: String(p.metrics),
    WASMCLOUD_ALLOW_FILE_LOAD: "true",
  });
  const leaf = get("ConfigMap", "nats-leaf-config");
  leaf.metadata = { name: `nats-leaf-config-${x}` };
  let conf = leaf.data["leaf.conf"];
  conf = swap(conf, "listen: 127.0.0.1:4222", `listen: 127.0.0.1:${p.client}`);
  conf = swap(conf, "http: 0.0.0.0:8222", `http: 127.0.0.1:${p.monitor}`);
  conf = swap(conf, "nats://nats-hub:7422", `nats://127.0.0.1:${cfg.hub.leaf}`);
  leaf.data["leaf.conf"] = conf;
  const spec = dep.spec.template.spec;
  spec.containers = spec.containers.map((c) => container(c, name));
  for (const c of spec.containers) {
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef?.name === "wasmcloud-config") e.configMapRef.name = env.metadata.name;
    }
    if (c.envFrom?.some((e) => e.secretRef)) {
      c.envFrom = c.envFrom.filter((e) => !e.secretRef);
      c.env = [...(c.env ?? []), { name: "WASMCLOUD_CLUSTER_SEED", value: cfg.seed }];
    }
    if (c.name === "host") c.volumeMounts.push({ name: "actors", mountPath: "/actors", readOnly: true });
  }
  for (const v of spec.volumes) if (v.configMap?.name === "nats-leaf-config") v.configMap.name = leaf.metadata.name;
  spec.volumes.push({ name: "actors", hostPath: { path: cfg.actors, type: "Directory" } });
  spec.hostNetwork = true;
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, labels: dep.spec.template.metadata.labels }, spec };
  write(`host-${x}.yaml`, [env, leaf, pod]);
}
console.log(`kube_play: wrote hub.yaml, host-a.yaml, host-b.yaml to ${outDir}`);
