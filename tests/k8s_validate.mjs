// Validates rendered Kubernetes manifests offline against the Kubernetes API schemas bundled in
// kubernetes-models (and @kubernetes-models/prometheus-operator for ServiceMonitor and
// PrometheusRule), then checks what docs/packaging.md promises of them.
//   node k8s_validate.mjs BASE.yaml OVERLAY.yaml ALERTS.yml      (module dir: NODE_PATH-free, run
//   from the directory holding node_modules)
import fs from "node:fs";
import yaml from "js-yaml";

const [basePath, haPath, alertsPath] = process.argv.slice(2);
let fails = 0;
const ok = (m) => console.log("ok: " + m);
const bad = (m) => { console.log("FAIL: " + m); fails++; };

async function modelFor(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  const pkg = group.endsWith("coreos.com") ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  const mod = await import(`${pkg}/${group ? group + "/" : ""}${version}/${o.kind}`);
  return mod[o.kind];
}

async function validate(o) {
  const M = await modelFor(o);
  new M(o).validate(); // throws with the schema path on a violation
}

async function check(path, name) {
  const docs = yaml.loadAll(fs.readFileSync(path, "utf8")).filter(Boolean);
  for (const o of docs) {
    try {
      await validate(o);
    } catch (e) {
      bad(`${name}: ${o.kind}/${o.metadata?.name}: ${e.message}`);
      continue;
    }
  }
  ok(`${name}: ${docs.length} objects valid against the schemas (${docs.map((o) => o.kind).join(", ")})`);
  return docs;
}

// JSON with object keys sorted (kustomize reorders keys).
const canon = (v) => JSON.stringify(v, (k, x) => x && typeof x === "object" && !Array.isArray(x)
  ? Object.fromEntries(Object.keys(x).sort().map((key) => [key, x[key]])) : x);
const find = (docs, kind) => docs.find((o) => o.kind === kind);
const base = await check(basePath, "base");
const ha = await check(haPath, "postgres-ha");

// The validator rejects what it must (the test could fail).
try {
  const d = structuredClone(find(base, "Deployment"));
  d.spec.replicas = "three";
  await validate(d);
  bad("a Deployment with replicas \"three\" passed validation");
} catch (e) {
  ok("a broken Deployment is refused: " + e.message.split("\n")[0]);
}

for (const [name, docs] of [["base", base], ["postgres-ha", ha]]) {
  for (const k of ["Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"])
    if (!find(docs, k)) bad(`${name}: no ${k}`);
  const d = find(docs, "Deployment");
  const pod = d.spec.template.spec, c = pod.containers[0];
  if (!pod.securityContext?.runAsNonRoot || c.securityContext?.readOnlyRootFilesystem !== true ||
      c.securityContext?.allowPrivilegeEscalation !== false || !c.securityContext?.capabilities?.drop?.includes("ALL"))
    bad(`${name}: the container is not non-root, read-only, without privileges`);
  for (const p of ["livenessProbe", "readinessProbe", "startupProbe"])
    if (c[p]?.httpGet?.path !== "/healthz") bad(`${name}: ${p} is not on /healthz`);
  if (!c.resources?.requests || !c.resources?.limits) bad(`${name}: no resources`);
  const secrets = pod.volumes.filter((v) => v.secret).map((v) => v.secret.secretName).sort();
  const want = ["veritee-admin", "veritee-ear-key", "veritee-kek", "veritee-tls"];
  if (JSON.stringify(secrets) !== JSON.stringify(want)) bad(`${name}: secrets ${secrets} (want ${want})`);
  for (const o of docs) if (o.kind !== "Namespace" && o.metadata.namespace !== "veritee") bad(`${name}: ${o.kind} not in namespace veritee`);
  const sel = find(docs, "Service").spec.selector;
  for (const [k, v] of Object.entries(sel)) if (d.spec.template.metadata.labels[k] !== v) bad(`${name}: Service selects ${k}=${v}, pods lack it`);
  const rule = find(docs, "PrometheusRule");
  const alerts = yaml.load(fs.readFileSync(alertsPath, "utf8"));
  if (canon(rule.spec.groups) !== canon(alerts.groups))
    bad(`${name}: PrometheusRule differs from packaging/prometheus/veritee-alerts.yml (regenerate: see its header)`);
  ok(`${name}: securityContext, probes, resources, secrets, selectors, rules as promised`);
}
const bd = find(base, "Deployment"), hd = find(ha, "Deployment");
if (bd.spec.replicas !== 1 || bd.spec.strategy.type !== "Recreate" || !find(base, "PersistentVolumeClaim"))
  bad("base: not one replica on a PersistentVolumeClaim with Recreate");
if (hd.spec.replicas < 2 || hd.spec.strategy.type !== "RollingUpdate" || find(ha, "PersistentVolumeClaim"))
  bad("postgres-ha: not several replicas, rolling, without the PVC");
if (hd.spec.template.spec.volumes.some((v) => v.persistentVolumeClaim)) bad("postgres-ha: a pod still mounts the PVC");
const env = hd.spec.template.spec.containers[0].env?.find((e) => e.name === "VERITEE_DB");
if (env?.valueFrom?.secretKeyRef?.name !== "veritee-postgres" || !hd.spec.template.spec.containers[0].args.includes("$(VERITEE_DB)"))
  bad("postgres-ha: --db is not the PostgreSQL URL from the veritee-postgres Secret");
if (find(ha, "PodDisruptionBudget").spec.minAvailable < 2 || "maxUnavailable" in find(ha, "PodDisruptionBudget").spec)
  bad("postgres-ha: PodDisruptionBudget does not keep 2 replicas");
if (!JSON.stringify(find(ha, "NetworkPolicy").spec.egress).includes("5432")) bad("postgres-ha: no egress to PostgreSQL");
if (JSON.stringify(find(base, "NetworkPolicy").spec.egress).includes("5432")) bad("base: egress to PostgreSQL");
ok("base: 1 replica on SQLite (PVC, Recreate); postgres-ha: " + hd.spec.replicas + " replicas on PostgreSQL, PDB minAvailable 2");
if (fails) { console.log(fails + " failure(s)"); process.exit(1); }
console.log("all k8s checks passed");
