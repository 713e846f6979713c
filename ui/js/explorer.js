// The evidence explorer: evidence by drop, file picker or paste, optional inputs, one POST to
// /api/v1/explore, the answer drawn by render.js. The time from the drop to the drawn analysis
// is measured (shown, and left in document.body.dataset.renderMs for the browser test; drawMs is
// the drawing alone, after the server's answer).
import {renderAnalysis} from './render.js';

const $ = (id) => document.getElementById(id);

function b64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function fileB64(f) {
  return b64(new Uint8Array(await f.arrayBuffer()));
}

// Pasted evidence: hex (with or without spaces) or base64 (standard or url-safe).
function pastedB64(text) {
  const t = text.replace(/\s+/g, '');
  if (!t) return null;
  if (/^([0-9a-fA-F]{2})+$/.test(t)) {
    const u = new Uint8Array(t.length / 2);
    for (let i = 0; i < u.length; i++) u[i] = parseInt(t.substr(i * 2, 2), 16);
    return b64(u);
  }
  if (/^[A-Za-z0-9+/_-]+=*$/.test(t)) return t.replace(/-/g, '+').replace(/_/g, '/');
  throw new Error('pasted evidence is neither hex nor base64');
}

async function filesObj(input) {
  if (!input.files.length) return undefined;
  const o = {};
  for (const f of input.files) o[f.name] = await fileB64(f);
  return o;
}

let droppedFile = null;

async function analyze(t0) {
  const status = $('explore-status');
  const result = $('result');
  try {
    let ev = null;
    const file = droppedFile || $('evidence-file').files[0];
    if (file) ev = await fileB64(file);
    else ev = pastedB64($('evidence-text').value);
    if (!ev) {
      status.textContent = 'Give evidence first: a file, a drop, or pasted text.';
      return;
    }
    const body = {evidence: ev};
    if ($('tee').value) body.tee = $('tee').value;
    if ($('at').value.trim()) body.at = $('at').value.trim();
    if ($('nonce').value.trim()) body.nonce = $('nonce').value.trim();
    const coll = await filesObj($('collateral'));
    if (coll) body.collateral = coll;
    const trust = await filesObj($('trust'));
    if (trust) body.trust = trust;
    const pol = $('policy').value.trim();
    if (pol) body.policy = pol;
    const rv = $('refvals').value.trim();
    if (rv) body.reference_values = rv;
    status.textContent = 'Analyzing…';
    const r = await fetch('/api/v1/explore', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify(body), cache: 'no-store'});
    const j = await r.json();
    const tAnswer = performance.now();
    if (!r.ok) {
      result.replaceChildren();
      status.textContent = `Refused (${r.status}): ${j.check ? j.check + ': ' : ''}${j.detail || ''}`;
      return;
    }
    renderAnalysis(result, j, {policyText: pol});
    // count the layout and the first paint of the analysis too
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    const ms = Math.round(performance.now() - t0);
    document.body.dataset.drawMs = String(Math.round(performance.now() - tAnswer));
    document.body.dataset.renderMs = String(ms);
    status.textContent = `${j.tee.toUpperCase()} ${j.verification.result} — analysis drawn in ${ms} ms.`;
    const h = $('summary-h');
    if (h) h.focus();
  } catch (e) {
    status.textContent = `Error: ${e.message}`;
  }
}

export function initExplorer() {
  const drop = $('drop');
  for (const t of ['dragenter', 'dragover']) drop.addEventListener(t, (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const t0 = performance.now();
    drop.classList.remove('over');
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (!f) return;
    droppedFile = f;
    $('explore-status').textContent = `Dropped ${f.name}`;
    analyze(t0);
  });
  $('evidence-file').addEventListener('change', () => { droppedFile = null; });
  $('evidence-text').addEventListener('input', () => { droppedFile = null; $('evidence-file').value = ''; });
  $('explore-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    analyze(performance.now());
  });
}
