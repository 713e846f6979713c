// The dashboard (admin-authenticated): readiness, the server's counters, resources with
// versions and digests (put, rotate, revoke), policies and reference values (view, validate,
// save), the audit log with its chain state, recent denials with the failing check. Every request is signed in the page (admin.js).
import {adminFetch, ed25519Supported, forgetKey, hasKey, loadKey} from './admin.js';

const $ = (id) => document.getElementById(id);
let auditAfter = null;      // null: latest page; else seq the page starts after
let auditFirst = 0;
let auditLast = 0;
let auditPage = 50;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function table(caption, cols, rows) {
  const t = el('table', {class: 'data'}, el('caption', {text: caption}));
  t.append(el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', {scope: 'col', text: c})))));
  const b = el('tbody');
  for (const r of rows) b.append(el('tr', r.attrs || {}, ...r.cells.map((c) => el('td', {}, c))));
  t.append(b);
  return t;
}

function problem(r) {
  const j = r.json || {};
  return `${r.status}: ${j.detail || j.type || 'error'}`;
}

async function readiness() {
  try {
    const r = await fetch('/healthz', {cache: 'no-store'});
    $('readiness').textContent = r.ok ? 'ready: the store answers' : `not ready (${r.status})`;
    $('readiness').className = r.ok ? 'ok' : 'error';
  } catch (e) {
    $('readiness').textContent = `not reachable: ${e.message}`;
  }
}

function sumBy(series, label) {
  const out = {};
  for (const s of series || []) {
    const k = label.map((l) => s.labels[l] || '').join(' / ');
    out[k] = (out[k] || 0) + s.value;
  }
  return out;
}

async function stats() {
  const r = await adminFetch('GET', '/api/v1/stats');
  if (r.status !== 200) { $('stats').textContent = problem(r); return; }
  const m = r.json;
  const att = sumBy(m.tee_attestation_total, ['tee', 'result']);
  const kids = [table('attestations by TEE and result', ['TEE / result', 'count'],
    Object.entries(att).map(([k, v]) => ({cells: [k, String(v)]})))];
  const relRows = [];
  for (const [name, series] of Object.entries(m)) {
    if (!/key_release|key_denied/.test(name)) continue;
    for (const s of series) relRows.push({cells: [name, JSON.stringify(s.labels), String(s.value)]});
  }
  kids.push(table('resource releases and denials', ['counter', 'labels', 'count'], relRows));
  $('stats').replaceChildren(...kids);
}

// each path segment percent-encoded: an admin-typed name can never turn into a query, a fragment
// or another path on the way to the server
const seg = (s) => String(s).split('/').map(encodeURIComponent).join('/');

async function resources() {
  const r = await adminFetch('GET', '/kbs/v0/admin/resources');
  if (r.status !== 200) { $('resources').textContent = problem(r); return; }
  const rows = [];
  for (const p of r.json.resources || []) {
    const v = await adminFetch('GET', `/kbs/v0/admin/versions/${seg(p)}`);
    for (const x of (v.json && v.json.versions) || []) {
      const btn = x.revoked ? el('span', {class: 'muted', text: `revoked ${x.revoked}`})
        : el('button', {type: 'button', class: 'revoke', 'data-path': p, 'data-version': x.version, text: `Revoke v${x.version}`});
      // the value's SHA-256 (compare with `sha256sum FILE`); the value itself never comes down
      const dg = x.sha256 ? el('code', {class: 'hex digest', title: 'SHA-256 of this version\'s value', text: x.sha256})
        : el('span', {class: 'muted', text: 'not available (sealed under another KEK?)'});
      rows.push({attrs: {'data-resource': p, 'data-version': x.version}, cells: [el('code', {text: p}), String(x.version), x.created, dg, btn]});
    }
  }
  $('resources').replaceChildren(table('resources and their versions', ['path', 'version', 'created', 'SHA-256 of the value', 'state'], rows));
}

async function putResource(rotate) {
  const path = $('res-path').value.trim();
  const value = $('res-value').value;
  if (!/^[^/]+\/[^/]+\/[^/]+$/.test(path)) { $('res-status').textContent = 'path must be repo/type/tag'; return; }
  if (!value) { $('res-status').textContent = 'give the new secret value'; return; }
  const url = rotate ? `/kbs/v0/admin/rotate/${seg(path)}` : `/kbs/v0/resource/${seg(path)}`;
  const r = await adminFetch('POST', url, {body: value, type: 'application/octet-stream'});
  $('res-value').value = '';
  await refresh();
  $('res-status').textContent = r.status === 200 ? `${rotate ? 'rotated' : 'stored'} ${path}: version ${r.json.version}` : problem(r);
}

async function revoke(path, version) {
  const r = await adminFetch('POST', `/kbs/v0/admin/revoke/${seg(path)}`, {query: `version=${version}`});
  await refresh();
  $('res-status').textContent = r.status === 200 ? `revoked ${path} version ${version}` : problem(r);
}

async function policies() {
  const a = await adminFetch('GET', '/kbs/v0/attestation-policy');
  const r = await adminFetch('GET', '/kbs/v0/resource-policy');
  const rows = [];
  for (const n of (a.status === 200 && a.json) || []) rows.push({cells: ['attestation', el('code', {text: n})]});
  for (const n of (r.status === 200 && r.json) || []) rows.push({cells: ['resource', el('code', {text: n})]});
  $('policies').replaceChildren(table('stored policies', ['kind', 'name'], rows));
}

async function loadPolicy() {
  const kind = $('pol-kind').value, name = $('pol-name').value.trim();
  const r = await adminFetch('GET', `/api/v1/policies/${seg(kind)}/${seg(name)}`);
  if (r.status === 200) {
    let t = r.json.text;
    try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* as stored */ }
    $('pol-text').value = t;
    $('pol-status').textContent = `loaded ${kind} policy ${name}`;
  } else $('pol-status').textContent = problem(r);
}

function b64urlText(s) {
  const b = new TextEncoder().encode(s);
  let x = '';
  for (const c of b) x += String.fromCharCode(c);
  return btoa(x).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function savePolicy() {
  const kind = $('pol-kind').value, name = $('pol-name').value.trim(), text = $('pol-text').value;
  const st = $('pol-status');
  $('pol-text').removeAttribute('aria-invalid');
  try { JSON.parse(text); } catch (e) {
    st.textContent = `not JSON: ${e.message}`;
    $('pol-text').setAttribute('aria-invalid', 'true');
    return;
  }
  const body = kind === 'attestation' ? {type: 'json', policy_id: name, policy: b64urlText(text)}
    : name === 'default' ? {policy: b64urlText(text)} : {path: name, policy: b64urlText(text)};
  const r = await adminFetch('POST', kind === 'attestation' ? '/kbs/v0/attestation-policy' : '/kbs/v0/resource-policy',
    {body: JSON.stringify(body)});
  await policies();
  if (r.status === 200) {
    st.textContent = `saved ${kind} policy ${name}`;
  } else {
    // the server names the JSON path of the first error: "policy.snp.vmpl: expected an integer"
    const d = (r.json && r.json.detail) || '';
    const m = d.match(/^((?:policy|resource_policy|rpolicy)[A-Za-z0-9_.[\]-]*): ([\s\S]*)$/);
    st.replaceChildren(el('strong', {text: 'refused: '}), m ? el('code', {class: 'json-path', text: m[1]}) : '',
      m ? `: ${m[2]}` : d);
    $('pol-text').setAttribute('aria-invalid', 'true');
  }
}

// Reference values (docs/policy.md formats): the stored documents; load one, edit, save. The
// server validates; a refusal names the JSON path ("reference_values[0].value: ...").
async function refvals() {
  const r = await adminFetch('GET', '/api/v1/reference-values');
  const names = (r.status === 200 && r.json) || [];
  $('rv-list').replaceChildren(names.length ? table('stored reference values', ['id'],
    names.map((n) => ({attrs: {'data-refvals': n}, cells: [el('code', {text: n})]})))
    : el('p', {class: 'muted', text: r.status === 200 ? 'No reference values stored.' : problem(r)}));
}

const refvalsId = () => $('rv-id').value.trim() || 'default';

async function loadRefvals() {
  const id = refvalsId();
  const r = await adminFetch('GET', `/api/v1/reference-values/${seg(id)}`);
  $('rv-text').removeAttribute('aria-invalid');
  if (r.status === 200) {
    let t = r.json.text;
    try { t = JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* as stored */ }
    $('rv-text').value = t;
    $('rv-status').textContent = `loaded reference values ${id}`;
  } else $('rv-status').textContent = problem(r);
}

async function saveRefvals() {
  const id = refvalsId(), text = $('rv-text').value, st = $('rv-status');
  $('rv-text').removeAttribute('aria-invalid');
  try { JSON.parse(text); } catch (e) {
    st.textContent = `not JSON: ${e.message}`;
    $('rv-text').setAttribute('aria-invalid', 'true');
    return;
  }
  const r = await adminFetch('PUT', `/api/v1/reference-values/${seg(id)}`, {body: text});
  await refvals();
  if (r.status === 200) {
    st.textContent = `saved reference values ${id}`;
    return;
  }
  // "<id>: <JSON path>: <what is wrong>" (the path is absent for a document of no known form)
  let d = (r.json && r.json.detail) || '';
  if (d.startsWith(`${id}: `)) d = d.slice(id.length + 2);
  const m = d.match(/^([A-Za-z_][A-Za-z0-9_.[\]-]*): ([\s\S]*)$/);
  st.replaceChildren(el('strong', {text: 'refused: '}), m ? el('code', {class: 'json-path', text: m[1]}) : '',
    m ? `: ${m[2]}` : d);
  $('rv-text').setAttribute('aria-invalid', 'true');
}

async function audit() {
  const r = await adminFetch('GET', auditAfter === null ? '/api/v1/audit' : `/api/v1/audit/after/${seg(auditAfter)}`);
  if (r.status !== 200) { $('audit').textContent = problem(r); return; }
  const c = r.json.chain;
  $('audit-chain').replaceChildren(el('span', {class: `badge ${c.verified ? 'pass' : 'fail'}`, id: 'audit-state',
    text: c.verified ? 'chain verified' : `chain BROKEN at ${c.bad_seq}: ${c.error}`}),
  ` ${c.records} records; head #${c.head_seq} `, el('code', {class: 'hex', text: c.head_hash}));
  // records moved out by `veritee audit archive`: the store starts after base_seq, whose hash it
  // keeps; the archive files prove 1..base_seq. "Intact from the base" only when this broker's
  // check reaches back to it (checked_from: where its run of checks began)
  const base = c.base_seq || 0;
  $('audit-archived').replaceChildren(base > 0
    ? el('span', {text: `Records 1–${base} archived (out of the store: check the files with veritee audit verify ` +
        `--archive-dir); ${c.head_seq > base ? `the store holds ${base + 1}–${c.head_seq}` : 'the store holds none after it'}` +
        (!c.verified ? '.' : !(c.checked_from > base + 1) ? `, chain intact from the archive base #${base}.`
          : `, chain checked from #${c.checked_from} (veritee audit verify reads the rest).`)})
    : el('span', {class: 'muted', text: 'Nothing archived: the store holds the whole log from record 1' +
        (c.verified && c.checked_from > 1 ? `; chain checked from #${c.checked_from} (veritee audit verify reads the rest).` : '.')}));
  const recs = r.json.records || [];
  auditPage = r.json.page_size || auditPage;
  auditFirst = recs.length ? recs[0].seq : 0;
  auditLast = recs.length ? recs[recs.length - 1].seq : 0;
  $('audit').replaceChildren(table(`audit records ${auditFirst}–${auditLast}`, ['seq', 'time', 'actor', 'action', 'subject', 'outcome', 'details'],
    recs.slice().reverse().map((x) => ({attrs: {'data-seq': x.seq, 'data-action': x.action, 'data-outcome': x.outcome},
      cells: [String(x.seq), x.time, x.actor, el('code', {text: x.action}), x.subject, x.outcome,
        el('code', {class: 'small', text: typeof x.details === 'string' ? x.details : JSON.stringify(x.details)})]}))));
}

async function denials() {
  const r = await adminFetch('GET', '/api/v1/audit/denials');
  if (r.status !== 200) { $('denials').textContent = problem(r); return; }
  const den = r.json.denials || [];
  $('denials').replaceChildren(den.length ? table(`denials among the last ${r.json.scanned} audit records`,
    ['time', 'what', 'subject', 'outcome', 'failing check', 'reason'],
    den.map((x) => {
      const d = typeof x.details === 'string' ? JSON.parse(x.details || '{}') : (x.details || {});
      return {attrs: {'data-seq': x.seq}, cells: [x.time, x.action, x.subject, x.outcome, el('code', {text: d.check || '—'}), d.error || '']};
    })) : el('p', {class: 'muted', text: `No denial among the last ${r.json.scanned} audit records.`}));
}

async function refresh() {
  await readiness();
  if (!hasKey()) return;
  try {
    await stats();
    await resources();
    await policies();
    await refvals();
    await audit();
    await denials();
  } catch (e) {
    $('admin-status').textContent = `error: ${e.message}`;
  }
}

export function showDashboard(info) {
  $('dash-unavailable').hidden = !!info.dashboard;
  $('dash-body').hidden = !info.dashboard;
  if (info.dashboard) readiness();
}

export function initDashboard(info) {
  if (!info.dashboard) return;
  $('admin-load').addEventListener('click', async () => {
    try {
      let text = $('admin-key-text').value;
      const f = $('admin-key-file').files[0];
      if (f) text = await f.text();
      const alg = await loadKey(text, $('admin-sub').value.trim() || 'console');
      $('admin-key-text').value = '';
      $('admin-key-file').value = '';
      const kind = alg === 'EdDSA' ? 'Ed25519' : 'P-256';
      $('admin-status').textContent = info.admin ? `${kind} key loaded: requests are signed in this page (${alg})`
        : `${kind} key loaded, but this server has no --admin-key: every admin request is refused`;
      await refresh();
    } catch (e) {
      $('admin-status').textContent = `cannot use this key: ${e.message}`;
    }
  });
  $('admin-forget').addEventListener('click', () => { forgetKey(); $('admin-status').textContent = 'key forgotten'; });
  $('refresh').addEventListener('click', refresh);
  $('res-form').addEventListener('submit', (ev) => { ev.preventDefault(); putResource(false); });
  $('res-rotate').addEventListener('click', () => putResource(true));
  $('resources').addEventListener('click', (ev) => {
    const b = ev.target.closest('button.revoke');
    if (b) revoke(b.dataset.path, b.dataset.version);
  });
  $('pol-load').addEventListener('click', loadPolicy);
  $('pol-form').addEventListener('submit', (ev) => { ev.preventDefault(); savePolicy(); });
  $('rv-load').addEventListener('click', loadRefvals);
  $('rv-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveRefvals(); });
  ed25519Supported().then((yes) => {
    $('ed25519-note').textContent = yes ? 'This browser signs with Ed25519 keys too.'
      : 'This browser\'s WebCrypto has no Ed25519: load a P-256 key.';
  });
  $('audit-older').addEventListener('click', () => { auditAfter = Math.max(0, auditFirst - auditPage - 1); audit(); });
  $('audit-newer').addEventListener('click', () => { auditAfter = auditLast; audit(); });
  $('audit-latest').addEventListener('click', () => { auditAfter = null; audit(); });
}
