// Offline check of deploy/kubernetes (issue #18.3), run by tests/packaging/k8s_test.sh.
//  1. Renders the kustomization (render.mjs): its `resources` files, each a YAML stream, with `namespace` set
//     on every namespaced object (the only kustomization fields the manifests use; any other
//     field fails here rather than being ignored). When `kubectl` is installed, `kubectl
//     kustomize` renders it too and both renderings must be the same objects.
//  2. Validates every object against the Kubernetes schemas of the npm package kubernetes-models
//     (types, required fields, enums, formats; pinned in package-lock.json).
//  3. Checks the wiring: ConfigMap/Secret references resolve (envFrom, valueFrom, volumes),
//     Service selectors select a pod template and their named target ports exist, the pieces
//     of the issue are there (hub StatefulSet with JetStream and WebSocket 4223, host pods with
//     a leaf-node sidecar with its own JetStream domain and WASMCLOUD_JS_DOMAIN, dashboard
//     Deployment + Service, ConfigMap, cluster seed Secret), and every container runs as
//     non-root without privilege escalation.
//  4. Proves the checks can fail: a copy with a wrong type, a missing required field and a
//     dangling ConfigMap reference must each be rejected.
// Writes the NATS configuration files of the ConfigMaps to OUT_DIR (argv[3]) for `nats-server
// -t`. Usage: node validate.mjs DEPLOY_DIR RENDERED_BY_KUBECTL_OR_DASH OUT_DIR
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseStream as parse, render } from "./render.mjs";

const [deployDir, kubectlRendered, outDir] = process.argv.slice(2);
let passed = 0;
const ok = (what) => {
  passed++;
  console.log(`ok: ${what}`);
};
const fail = (what) => {
  console.error(`k8s_test: FAILED: ${what}`);
  process.exit(1);
};
/** parse() that fails the test on a parse error. */
function parseStream(text, where) {
  try {
    return parse(text, where);
  } catch (e) {
    return fail(e.message);
  }
}

// ---------------------------------------------------------------------------------- 1. render
let kust, objects;
try {
  ({ kustomization: kust, objects } = render(deployDir));
} catch (e) {
  fail(e.message);
}
const id = (o) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
ok(`rendered ${objects.length} objects from ${kust.resources.length} files`);
{
  const seen = new Set();
  for (const o of objects) {
    if (seen.has(id(o))) fail(`two objects ${id(o)}`);
    seen.add(id(o));
  }
}
if (kubectlRendered && kubectlRendered !== "-") {
  const theirs = parseStream(fs.readFileSync(kubectlRendered, "utf8"), "kubectl kustomize");
  const byId = new Map(theirs.map((o) => [id(o), o]));
  if (theirs.length !== objects.length) fail(`kubectl kustomize rendered ${theirs.length} objects`);
  for (const o of objects) {
    if (!byId.has(id(o))) fail(`kubectl kustomize has no ${id(o)}`);
    if (!isDeepStrictEqual(byId.get(id(o)), o)) fail(`kubectl kustomize renders ${id(o)} otherwise`);
  }
  ok("kubectl kustomize renders the same objects");
}

// ---------------------------------------------------------------------------------- 2. schemas
/** The kubernetes-models class of an object (core group: kubernetes-models/v1/<Kind>). */
async function modelOf(o) {
  if (typeof o.apiVersion !== "string" || typeof o.kind !== "string")
    throw new Error(`${id(o)}: no apiVersion/kind`);
  const mod = await import(`kubernetes-models/${o.apiVersion}/${o.kind}`).catch(() => null);
  if (!mod || !mod[o.kind]) throw new Error(`${id(o)}: unknown kind ${o.apiVersion} ${o.kind}`);
  return mod[o.kind];
}
/** Throws with the schema's message when `o` does not validate. */
async function validate(o) {
  const Model = await modelOf(o);
  new Model(structuredClone(o)).validate();
}
for (const o of objects) {
  try {
    await validate(o);
  } catch (e) {
    fail(`${id(o)} does not validate: ${e.message}`);
  }
}
ok(`all ${objects.length} objects validate against the Kubernetes schemas (kubernetes-models)`);

// ---------------------------------------------------------------------------------- 3. wiring
/** Errors of the cross-references and security settings of `objs` (empty when all hold). */
function wiringErrors(objs) {
  const errs = [];
  const find = (kind, ns, name) =>
    objs.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns);
  const workloads = objs.filter((o) => ["Deployment", "StatefulSet"].includes(o.kind));
  for (const w of workloads) {
    const ns = w.metadata.namespace;
    const pod = w.spec.template.spec;
    const labels = w.spec.template.metadata.labels ?? {};
    for (const [k, v] of Object.entries(w.spec.selector.matchLabels ?? {}))
      if (labels[k] !== v) errs.push(`${id(w)}: selector ${k}=${v} does not match its pods`);
    const refs = [];
    for (const v of pod.volumes ?? []) {
      if (v.configMap) refs.push(["ConfigMap", v.configMap.name, `volume ${v.name}`]);
      if (v.secret) refs.push(["Secret", v.secret.secretName, `volume ${v.name}`]);
    }
    const claims = new Set((w.spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name));
    const volumes = new Set([...(pod.volumes ?? []).map((v) => v.name), ...claims]);
    for (const c of pod.containers) {
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) refs.push(["ConfigMap", e.configMapRef.name, `${c.name} envFrom`]);
        if (e.secretRef) refs.push(["Secret", e.secretRef.name, `${c.name} envFrom`]);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sk = e.valueFrom?.secretKeyRef;
        if (cm) {
          const m = find("ConfigMap", ns, cm.name);
          if (!m) errs.push(`${id(w)}: ${c.name} env ${e.name}: no ConfigMap ${cm.name}`);
          else if (!(cm.key in (m.data ?? {})))
            errs.push(`${id(w)}: ${c.name} env ${e.name}: no key ${cm.key} in ${cm.name}`);
        }
        if (sk) refs.push(["Secret", sk.name, `${c.name} env ${e.name}`]);
      }
      for (const m of c.volumeMounts ?? [])
        if (!volumes.has(m.name)) errs.push(`${id(w)}: ${c.name} mounts unknown volume ${m.name}`);
      const ports = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        const p = probe?.httpGet?.port;
        if (typeof p === "string" && !ports.has(p))
          errs.push(`${id(w)}: ${c.name} probes unknown port ${p}`);
      }
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false)
        errs.push(`${id(w)}: ${c.name} may escalate privileges`);
      if (!(pod.securityContext?.runAsNonRoot === true || sc.runAsNonRoot === true))
        errs.push(`${id(w)}: ${c.name} may run as root`);
    }
    for (const [kind, name, where] of refs)
      if (!find(kind, ns, name)) errs.push(`${id(w)}: ${where} names a missing ${kind} ${name}`);
  }
  for (const s of objs.filter((o) => o.kind === "Service")) {
    const sel = s.spec.selector ?? {};
    const targets = workloads.filter(
      (w) =>
        w.metadata.namespace === s.metadata.namespace &&
        Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v));
    if (!targets.length) errs.push(`${id(s)}: selects no pods`);
    for (const p of s.spec.ports) {
      if (typeof p.targetPort !== "string") continue;
      for (const w of targets) {
        const named = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
        if (!named.some((cp) => cp.name === p.targetPort))
          errs.push(`${id(s)}: target port ${p.targetPort} is not a port of ${id(w)}`);
      }
    }
  }
  return errs;
}
{
  const errs = wiringErrors(objects);
  if (errs.length) fail(errs.join("; "));
  ok("references resolve (ConfigMaps, Secrets, volumes, probe and Service ports), non-root");
}

const get = (kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const need = (cond, what) => (cond ? undefined : fail(what));
{
  const hub = objects.find((o) => o.kind === "StatefulSet");
  need(hub, "no hub StatefulSet");
  const c = hub.spec.template.spec.containers[0];
  need(c.command.includes("nats-server"), "the hub does not run nats-server");
  const cfgVol = hub.spec.template.spec.volumes.find((v) => v.configMap);
  const conf = Object.values(get("ConfigMap", cfgVol.configMap.name).data)[0];
  need(/jetstream\s*{[^}]*domain:\s*hub/s.test(conf), "the hub has no JetStream domain 'hub'");
  need(/websocket\s*{[^}]*port:\s*4223/s.test(conf), "the hub has no WebSocket on 4223");
  need(c.ports.some((p) => p.containerPort === 4223), "the hub's pods do not expose 4223");
  need(
    objects.some((o) => o.kind === "Service" && o.spec.ports.some((p) => p.port === 4223)),
    "no Service exposes the WebSocket port 4223");
  ok(`hub: StatefulSet ${hub.metadata.name} (${hub.spec.replicas} nodes), JetStream, WebSocket 4223`);
}
{
  const host = get("Deployment", "wasmcloud-host");
  need(host, "no Deployment wasmcloud-host");
  const cs = host.spec.template.spec.containers;
  const runs = (c, what) => [...(c.command ?? []), ...(c.args ?? [])].join(" ").includes(what);
  const h = cs.find((c) => c.command?.includes("host"));
  const leaf = cs.find((c) => runs(c, "nats-server -c"));
  need(h && leaf, "the host pods do not run both the host and a nats-server sidecar");
  const cmName = h.envFrom.find((e) => e.configMapRef).configMapRef.name;
  const env = get("ConfigMap", cmName).data;
  need(env.WASMCLOUD_JS_DOMAIN, "the hosts have no WASMCLOUD_JS_DOMAIN");
  need(env.WASMCLOUD_CTL_HOST === "127.0.0.1", "the host does not use its sidecar for NATS");
  need(h.envFrom.some((e) => e.secretRef), "the host does not read the cluster seed Secret");
  const leafVol = host.spec.template.spec.volumes.find((v) => v.configMap);
  const leafConf = Object.values(get("ConfigMap", leafVol.configMap.name).data)[0];
  need(/leafnodes\s*{\s*remotes/s.test(leafConf), "the sidecar is not a leaf node");
  const dom = /jetstream\s*{[^}]*domain:\s*(\S+)/s.exec(leafConf);
  need(dom && dom[1] !== env.WASMCLOUD_JS_DOMAIN, "the leaf has no JetStream domain of its own");
  ok(`hosts: ${host.spec.replicas} pods, host + leaf sidecar (domain ${dom[1]}), ` +
     `WASMCLOUD_JS_DOMAIN=${env.WASMCLOUD_JS_DOMAIN}`);
}
{
  const d = get("Deployment", "wasmcloud-dashboard");
  const s = get("Service", "wasmcloud-dashboard");
  need(d && s, "no dashboard Deployment and Service");
  const sec = objects.find((o) => o.kind === "Secret");
  need(sec && "WASMCLOUD_CLUSTER_SEED" in (sec.stringData ?? sec.data ?? {}),
    "no Secret with WASMCLOUD_CLUSTER_SEED");
  ok("dashboard Deployment + Service, cluster seed Secret");
}

// ------------------------------------------------------------------------------ 4. must fail
{
  const host = structuredClone(get("Deployment", "wasmcloud-host"));
  host.spec.replicas = "two";
  let rejected = false;
  try {
    await validate(host);
  } catch {
    rejected = true;
  }
  need(rejected, "the schema check accepted replicas: \"two\"");
  const nameless = structuredClone(get("Deployment", "wasmcloud-dashboard"));
  delete nameless.spec.template.spec.containers[0].name;
  rejected = false;
  try {
    await validate(nameless);
  } catch {
    rejected = true;
  }
  need(rejected, "the schema check accepted a container without a name");
  const dangling = structuredClone(objects).filter(
    (o) => !(o.kind === "ConfigMap" && o.metadata.name === "nats-leaf-config"));
  need(wiringErrors(dangling).some((e) => e.includes("nats-leaf-config")),
    "the wiring check accepted a missing ConfigMap");
  ok("a wrong type, a missing required field and a dangling reference are each rejected");
}

// The NATS configuration files, for nats-server -t.
fs.mkdirSync(outDir, { recursive: true });
for (const name of ["nats-hub-config", "nats-leaf-config"]) {
  for (const [file, text] of Object.entries(get("ConfigMap", name).data))
    fs.writeFileSync(path.join(outDir, file), text);
}
console.log(`validate: ${passed} passed, 0 failed`);
