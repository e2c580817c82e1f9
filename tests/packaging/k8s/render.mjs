// Renders deploy/kubernetes's kustomization the way `kubectl kustomize` does for the fields the
// manifests use: the `resources` files, each a YAML stream, with `namespace` set on every
// namespaced object. Any other kustomization field is refused rather than ignored. Used by
// validate.mjs and kube_play.mjs (tests/packaging).
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

const CLUSTER_SCOPED = new Set(["Namespace", "PersistentVolume", "StorageClass", "ClusterRole",
  "ClusterRoleBinding", "CustomResourceDefinition"]);

/** The documents of a YAML stream (empty ones dropped); throws on a parse error. */
export function parseStream(text, where) {
  const out = [];
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length) throw new Error(`${where}: ${d.errors[0].message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

/** `{ kustomization, objects }` of the kustomization in `deployDir`; throws on what it cannot render. */
export function render(deployDir) {
  const kfile = path.join(deployDir, "kustomization.yaml");
  const [kust] = parseStream(fs.readFileSync(kfile, "utf8"), kfile);
  for (const key of Object.keys(kust)) {
    if (!["apiVersion", "kind", "namespace", "resources"].includes(key))
      throw new Error(`${kfile}: field '${key}' is not handled by this renderer (render.mjs)`);
  }
  if (kust.kind !== "Kustomization") throw new Error(`${kfile}: kind is not Kustomization`);
  const objects = [];
  for (const res of kust.resources) {
    const file = path.join(deployDir, res);
    for (const doc of parseStream(fs.readFileSync(file, "utf8"), file)) {
      if (kust.namespace && !CLUSTER_SCOPED.has(doc.kind))
        doc.metadata = { ...doc.metadata, namespace: kust.namespace };
      objects.push(doc);
    }
  }
  return { kustomization: kust, objects };
}
