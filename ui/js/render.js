// The explorer's view of one analysis (the JSON of POST /api/v1/explore, docs/console.md):
// summary, named checks, decoded fields by spec group, chain of trust, TCB, appraisal.
// Self-contained on purpose (no imports): `veritee verify --html` inlines this file.
// Every value from the evidence is set as text, never as markup.

const SPEC_NAMES = {
  mr_td: 'MRTD', mr_config_id: 'MRCONFIGID', mr_owner: 'MROWNER', mr_owner_config: 'MROWNERCONFIG',
  rtmr: 'RTMR[0..3]', report_data: 'REPORTDATA', td_attributes: 'TDATTRIBUTES', xfam: 'XFAM',
  tee_tcb_svn: 'TEE_TCB_SVN', mr_seam: 'MRSEAM', mr_signer_seam: 'MRSIGNERSEAM', seam_attributes: 'SEAMATTRIBUTES',
  tee_tcb_svn2: 'TEE_TCB_SVN_2', mr_service_td: 'MRSERVICETD',
  debug: 'DEBUG (bit 0)', sept_ve_disable: 'SEPT_VE_DISABLE (bit 28)', pks: 'PKS (bit 30)',
  key_locker: 'KL (bit 31)', perfmon: 'PERFMON (bit 63)',
  version: 'VERSION', guest_svn: 'GUEST_SVN', policy: 'POLICY', family_id: 'FAMILY_ID', image_id: 'IMAGE_ID',
  vmpl: 'VMPL', signature_algo: 'SIGNATURE_ALGO', current_tcb: 'CURRENT_TCB', platform_info: 'PLATFORM_INFO',
  author_key_en: 'AUTHOR_KEY_EN', mask_chip_key: 'MASK_CHIP_KEY', signing_key: 'SIGNING_KEY',
  measurement: 'MEASUREMENT', host_data: 'HOST_DATA', id_key_digest: 'ID_KEY_DIGEST',
  author_key_digest: 'AUTHOR_KEY_DIGEST', report_id: 'REPORT_ID', report_id_ma: 'REPORT_ID_MA',
  reported_tcb: 'REPORTED_TCB', cpuid_fam_id: 'CPUID_FAM_ID', cpuid_mod_id: 'CPUID_MOD_ID',
  cpuid_step: 'CPUID_STEP', chip_id: 'CHIP_ID', committed_tcb: 'COMMITTED_TCB',
  current_version: 'CURRENT_BUILD/MINOR/MAJOR', committed_version: 'COMMITTED_BUILD/MINOR/MAJOR',
  launch_tcb: 'LAUNCH_TCB', launch_mit_vector: 'LAUNCH_MIT_VECTOR', current_mit_vector: 'CURRENT_MIT_VECTOR',
  r: 'R (little-endian)', s: 'S (little-endian)',
};
const UNITS = {'Body Size': 'bytes', 'QE Authentication Data size': 'bytes', 'PCK certificate chain (PEM) size': 'bytes',
  length: 'bytes', size: 'bytes'};
const HEX_RE = /^[0-9a-f]+$/;

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

function valueNode(v) {
  if (v === null || v === undefined) return el('span', {class: 'muted', text: '—'});
  if (typeof v === 'boolean') return el('span', {class: v ? 'flag on' : 'flag off', text: v ? 'set (true)' : 'clear (false)'});
  if (typeof v === 'number') return el('span', {class: 'num', text: String(v) + (Number.isInteger(v) && v > 9 ? ` (0x${v.toString(16)})` : '')});
  if (typeof v === 'string') {
    if (v.length >= 8 && v.length % 2 === 0 && HEX_RE.test(v)) {
      const zero = /^0+$/.test(v);
      return el('code', {class: 'hex' + (zero ? ' zero' : ''), title: `${v.length / 2} bytes`}, v);
    }
    return el('span', {text: v});
  }
  if (Array.isArray(v)) {
    const ol = el('ol', {class: 'arr', start: 0});
    v.forEach((x) => ol.append(el('li', {}, valueNode(x))));
    return ol;
  }
  return fieldTable(v, true);
}

function fieldTable(obj, nested) {
  const t = el('table', {class: nested ? 'fields nested' : 'fields'});
  const body = el('tbody');
  for (const [k, v] of Object.entries(obj || {})) {
    const name = SPEC_NAMES[k] ? `${SPEC_NAMES[k]}` : k;
    const th = el('th', {scope: 'row'}, name);
    if (SPEC_NAMES[k] && SPEC_NAMES[k] !== k) th.append(el('span', {class: 'key', text: ` ${k}`}));
    if (UNITS[k]) th.append(el('span', {class: 'unit', text: ` [${UNITS[k]}]`}));
    body.append(el('tr', {'data-field': k}, th, el('td', {}, valueNode(v))));
  }
  t.append(body);
  return t;
}

function section(title, id, ...kids) {
  const h = el('h2', {id: `${id}-h`, tabindex: -1}, title);
  return el('section', {class: 'card', id, 'aria-labelledby': `${id}-h`}, h, ...kids);
}

function statusBadge(st) {
  return el('span', {class: `badge ${st}`, text: st === 'pass' ? '✔ pass' : st === 'fail' ? '✘ fail' : '– ' + st});
}

function checksTable(checks, caption) {
  const t = el('table', {class: 'checks'});
  if (caption) t.append(el('caption', {text: caption}));
  t.append(el('thead', {}, el('tr', {}, el('th', {scope: 'col', text: 'check'}), el('th', {scope: 'col', text: 'result'}),
    el('th', {scope: 'col', text: 'reason'}))));
  const b = el('tbody');
  for (const c of checks || []) {
    b.append(el('tr', {class: `check ${c.status}`, 'data-check': c.name}, el('td', {}, el('code', {text: c.name})),
      el('td', {}, statusBadge(c.status)), el('td', {text: c.detail || ''})));
  }
  t.append(b);
  return t;
}

const ADVISORY_URL = (id) => /^INTEL-SA-\d+$/.test(id)
  ? `https://www.intel.com/content/www/us/en/security-center/advisory/${id.toLowerCase()}.html` : null;

function tcbSection(a) {
  const t = a.tcb || {};
  if (!Object.keys(t).length) {
    const why = a.tee === 'snp' || a.tee === 'cca' ? 'This TEE has no TCB status from collateral (see the platform TCB fields).'
      : 'No TCB status: verification did not reach TCB matching.';
    return section('TCB status', 'tcb', el('p', {class: 'muted', text: why}));
  }
  const rows = Object.assign({}, t);
  delete rows.advisory_ids;
  const kids = [fieldTable(rows)];
  const adv = t.advisory_ids || [];
  const ul = el('ul', {class: 'advisories'});
  for (const id of adv) {
    const url = ADVISORY_URL(id);
    ul.append(el('li', {}, url ? el('a', {href: url, rel: 'noreferrer noopener', target: '_blank', text: id}) : el('span', {text: id})));
  }
  kids.push(el('h3', {text: `Advisories (${adv.length})`}), adv.length ? ul : el('p', {class: 'muted', text: 'none'}));
  return section('TCB status', 'tcb', ...kids);
}

function chainSection(a) {
  const chain = a.chain || [];
  if (!chain.length) {
    const msg = a.tee === 'cca' ? 'CCA tokens are signed by a CPAK (platform key) from a trust store, not an X.509 chain.'
      : 'No certificates came with the evidence.';
    return section('Chain of trust', 'chain', el('p', {class: 'muted', text: msg}));
  }
  // leaf first in the evidence: draw the root at the top
  const fig = el('ol', {class: 'chain', 'aria-label': 'certificate chain, root first'});
  [...chain].reverse().forEach((c, i) => {
    const badges = el('p', {class: 'badges'});
    if (c.pinned) badges.append(el('span', {class: 'badge pinned', text: 'pinned root (built in)'}));
    else if (c.anchor) badges.append(el('span', {class: 'badge pinned', text: c.anchor}));
    else if (c.self_signed) badges.append(el('span', {class: 'badge warn', text: 'self-signed, not a trust anchor'}));
    if (c.emulated) badges.append(el('span', {class: 'badge warn', text: 'emulated (test PKI)'}));
    badges.append(el('span', {class: `badge ${c.valid_at_instant ? 'pass' : 'fail'}`, text: c.window + ' at ' + a.at}));
    // validity window against the instant: a bar from not_before to not_after, the instant marked
    const nb = Date.parse(c.not_before), na = Date.parse(c.not_after), at = Date.parse(a.at);
    const pos = Math.max(0, Math.min(100, Math.round(((at - nb) / (na - nb)) * 100)));
    const bar = el('div', {class: 'window', role: 'img',
      'aria-label': `valid ${c.not_before} to ${c.not_after}; instant ${a.at} is ${c.window}`},
    el('span', {class: `mark p${Math.round(pos / 5) * 5}` + (c.valid_at_instant ? '' : ' out')}));
    fig.append(el('li', {class: 'cert' + (c.valid_at_instant ? '' : ' bad'), 'data-subject': c.subject},
      el('h3', {text: c.subject}),
      el('p', {}, el('span', {class: 'muted', text: 'issuer: '}), c.issuer),
      badges,
      el('p', {class: 'dates'}, el('span', {text: c.not_before}), el('span', {text: ' → '}), el('span', {text: c.not_after})),
      bar,
      el('p', {}, el('span', {class: 'muted', text: 'SHA-256: '}), el('code', {class: 'hex', text: c.sha256})),
      el('p', {}, el('span', {class: 'muted', text: 'revocation: '}), c.crl)));
    if (i < chain.length - 1) fig.append(el('li', {class: 'arrow', 'aria-hidden': 'true', text: '▼ signs'}));
  });
  return section('Chain of trust', 'chain', fig);
}

// Policy leaves (path -> expected) next to the claim of the same name, differences marked.
function flatten(o, p, out) {
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) flatten(v, p ? `${p}.${k}` : k, out);
  } else out.push([p, o]);
  return out;
}

function claimFor(claims, path) {
  if (!claims) return undefined;
  const last = path.split('.').filter((s) => !/^(values|refs|value|mask)$/.test(s)).pop();
  const m = path.match(/^measurements\.([a-z0-9_]+)/);
  if (m && claims.measurements) return claims.measurements[m[1]];
  for (const src of [claims, claims.tee_claims || {}, claims.measurements || {}, claims.init_data || {}])
    if (last in src) return src[last];
  return undefined;
}

function diffNode(expected, actual) {
  const e = String(expected), a = actual === undefined ? '' : String(actual);
  const out = el('code', {class: 'hex'});
  for (let i = 0; i < a.length; i++) {
    const ch = a[i];
    if (i < e.length && e[i] === ch) out.append(document.createTextNode(ch));
    else out.append(el('mark', {text: ch}));
  }
  return out;
}

function appraisalSection(a, policyText) {
  const ap = a.appraisal;
  if (!ap) return null;
  if (ap.error) {
    const m = ap.error.match(/^(policy[A-Za-z0-9_.[\]-]*): ([\s\S]*)$/);
    return section('Policy appraisal', 'appraisal', el('p', {class: 'error', role: 'alert'},
      el('strong', {text: 'policy invalid: '}), m ? el('code', {class: 'json-path', text: m[1]}) : '', m ? `: ${m[2]}` : ap.error));
  }
  const kids = [el('p', {}, 'policy ', el('code', {text: ap.policy_id}), ': ', el('span', {class: `badge ${ap.status === 'affirming' ? 'pass' : ap.status === 'warning' ? 'warn' : 'fail'}`, text: ap.status}))];
  kids.push(checksTable(ap.checks, 'appraisal checks'));
  let pol = null;
  try { pol = policyText ? JSON.parse(policyText) : null; } catch (e) { pol = null; }
  if (pol) {
    const t = el('table', {class: 'compare'});
    t.append(el('caption', {text: 'expected (policy) vs actual (claims)'}));
    t.append(el('thead', {}, el('tr', {}, el('th', {scope: 'col', text: 'policy path'}), el('th', {scope: 'col', text: 'expected'}),
      el('th', {scope: 'col', text: 'actual'}))));
    const b = el('tbody');
    for (const [path, exp] of flatten(pol, '', [])) {
      if (/^(id|version|description)$/.test(path)) continue;
      const list = Array.isArray(exp) ? exp : [exp];
      const act = claimFor(a.claims, path);
      const same = act !== undefined && list.some((x) => String(x) === String(act));
      const actNode = act === undefined ? el('span', {class: 'muted', text: 'not a claim of this evidence'})
        : typeof act === 'string' && HEX_RE.test(act) && !same ? diffNode(list[0], act) : valueNode(act);
      b.append(el('tr', {class: act === undefined ? '' : same ? 'same' : 'differs'},
        el('td', {}, el('code', {text: `policy.${path}`})), el('td', {}, valueNode(exp)), el('td', {}, actNode)));
    }
    t.append(b);
    kids.push(t);
  }
  return section('Policy appraisal', 'appraisal', ...kids);
}

export function renderAnalysis(root, a, opts) {
  opts = opts || {};
  root.replaceChildren();
  const v = a.verification || {};
  const ok = v.result === 'verified';
  const failed = (v.checks || []).find((c) => c.status === 'fail');
  const sum = el('section', {class: `card summary ${ok ? 'ok' : 'bad'}`, id: 'summary', 'aria-labelledby': 'summary-h'},
    el('h2', {id: 'summary-h', tabindex: -1}, `${(a.tee || '?').toUpperCase()} evidence: ${ok ? 'verified' : 'rejected'}`),
    el('p', {}, `${a.size} bytes, verified as of `, el('time', {datetime: a.at, text: a.at}), a.file ? ` — ${a.file}` : ''));
  if (!ok) {
    sum.append(el('p', {class: 'reason', role: 'status'}, el('strong', {text: 'reason: '}),
      v.error_check ? el('code', {text: v.error_check}) : '', ' ', v.error || ''));
    if (v.missing_collateral) sum.append(el('p', {class: 'hint', text: 'Collateral or trust anchors are missing: add them (collateral files) and analyze again. Missing collateral is never treated as a pass.'}));
  } else if (failed) sum.append(el('p', {text: `first failing check: ${failed.name}`}));
  if (a.decode_error) sum.append(el('p', {class: 'error'}, el('strong', {text: 'not decodable: '}), el('code', {text: a.decode_error.check}), ' ', a.decode_error.detail));
  if (!opts.standalone && a.claims) {
    const btn = el('button', {type: 'button', id: 'download-claims', text: 'Download claims JSON'});
    btn.addEventListener('click', () => {
      const blob = new Blob([JSON.stringify({tee: a.tee, at: a.at, claims: a.claims, checks: v.checks}, null, 2)], {type: 'application/json'});
      const link = el('a', {href: URL.createObjectURL(blob), download: `claims-${a.tee}.json`});
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    });
    sum.append(btn);
  }
  const nav = el('nav', {class: 'toc', 'aria-label': 'analysis sections'});
  const list = el('ul');
  for (const [id, t] of [['checks', 'Checks'], ['decoded', 'Decoded fields'], ['chain', 'Chain of trust'], ['tcb', 'TCB'],
    ...(a.appraisal ? [['appraisal', 'Policy']] : []), ...(a.claims ? [['claims', 'Claims']] : [])])
    list.append(el('li', {}, el('a', {href: `#${id}`, 'data-target': id, text: t})));
  nav.append(list);
  nav.addEventListener('click', (ev) => {
    const t = ev.target.closest('a[data-target]');
    if (!t) return;
    ev.preventDefault();
    const h = document.getElementById(`${t.dataset.target}-h`);
    if (h) { h.scrollIntoView(); h.focus(); }
  });
  const dec = section('Decoded fields', 'decoded');
  for (const g of a.decoded || []) {
    const d = el('details', {open: true, class: 'group'}, el('summary', {}, el('span', {class: 'gname', text: g.group}), ' ',
      el('span', {class: 'spec', text: g.spec})), fieldTable(g.fields));
    dec.append(d);
  }
  const parts = [sum, nav, section('Checks', 'checks', checksTable(v.checks, `${(v.checks || []).length} named checks`)), dec,
    chainSection(a), tcbSection(a)];
  const ap = appraisalSection(a, opts.policyText);
  if (ap) parts.push(ap);
  if (a.claims) parts.push(section('Normalized claims', 'claims', el('pre', {class: 'json', tabindex: 0, 'aria-label': 'normalized claims (JSON)', text: JSON.stringify(a.claims, null, 2)})));
  root.append(...parts);
}
