// Drives the web console in headless Chromium (run by tests/cli_ui.sh, which starts the servers).
// Asserts what a person sees: decoded fields equal to the bytes of each real vector, the named
// checks, a tampered quote's failing check, the dashboard's signed admin actions in the audit
// view, no console errors, no serious axe-core violations, keyboard-only use; and, outside the
// browser, the security headers and that admin endpoints refuse unsigned calls.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import {spawn, spawnSync} from 'node:child_process';
import path from 'node:path';
import {createRequire} from 'node:module';

const require = createRequire(path.join(process.env.NODE_DIR, 'package.json'));
const {chromium} = require('playwright-core');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const {UI_URL, KBS_URL, ADMIN_KEY, KBS_ED_URL, ADMIN_KEY_ED, VECTORS: V, SHOTS, CHROMIUM} = process.env;

let failures = 0;
async function test(name, fn) {
  try {
    await fn();
    console.log(`ok: ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL: ${name}: ${e.stack || e}`);
  }
}

const hex = (b) => Buffer.from(b).toString('hex');
const files = (dir, skip) => fs.readdirSync(dir).filter((f) => !skip.includes(f)).map((f) => path.join(dir, f))
  .filter((f) => fs.statSync(f).isFile());

// ---- outside the browser: headers, limits, authentication ----

await test('CSP, frame-ancestors and X-Frame-Options on the console (ui and serve)', async () => {
  for (const base of [UI_URL, KBS_URL]) {
    for (const p of ['/', '/js/app.js', '/css/console.css']) {
      const r = await fetch(base + p);
      assert.equal(r.status, 200, `${base}${p}`);
      const csp = r.headers.get('content-security-policy') || '';
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    }
  }
  const html = await (await fetch(UI_URL + '/')).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, / style=|<style/, 'no inline style');
  // one element per id: the dashboard's reference-value list once shared its id with the
  // explorer's reference-value box, and the list was drawn into the hidden page
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(ids.filter((x, i) => ids.indexOf(x) !== i), [], 'duplicate ids in index.html');
});

await test('admin endpoints refuse unsigned and forged calls', async () => {
  for (const p of ['/api/v1/stats', '/api/v1/audit', '/api/v1/audit/after/0', '/api/v1/policies/attestation/default',
    '/kbs/v0/admin/resources']) {
    const r = await fetch(KBS_URL + p);
    assert.equal(r.status, 401, p);
    const f = await fetch(KBS_URL + p, {headers: {Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA'}});
    assert.equal(f.status, 401, `${p} forged`);
  }
  const r = await fetch(UI_URL + '/api/v1/stats');
  assert.equal(r.status, 404, 'the explorer-only server has no admin API');
});

await test('explore: bad requests refused, size limit, nothing echoed', async () => {
  let r = await fetch(UI_URL + '/api/v1/explore', {method: 'POST', body: 'not json'});
  assert.equal(r.status, 400);
  r = await fetch(UI_URL + '/api/v1/explore', {method: 'POST', body: JSON.stringify({evidence: 'AAAA', frob: 1})});
  assert.equal(r.status, 400);
  assert.match((await r.json()).detail, /unknown member 'frob'/);
  // announced larger than the limit: refused before the body is read
  const st = await new Promise((resolve, reject) => {
    const rq = http.request(UI_URL + '/api/v1/explore', {method: 'POST', headers: {'Content-Length': String(5 << 20)}}, (res) => {
      resolve(res.statusCode);
      rq.destroy();
    });
    rq.on('error', reject);
    rq.write('{"evidence":"');
  });
  assert.equal(st, 413);
  r = await fetch(UI_URL + '/api/v1/explore', {method: 'POST',
    body: JSON.stringify({evidence: 'AAAA', collateral: {'../x': 'AAAA'}})});
  assert.equal(r.status, 400, 'collateral file names cannot leave the temporary directory');
});

// ---- the browser ----

// a fresh profile directory every run (launchPersistentContext passes it as --user-data-dir)
const ctx = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(process.env.TMPDIR || '/tmp', 'chromium-')), {
  executablePath: CHROMIUM, headless: true, viewport: {width: 1280, height: 900}, acceptDownloads: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync']});
const errors = [];
const external = [];
function watch(page) {
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (rq) => {
    const u = new URL(rq.url());
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['blob:', 'data:', 'file:'].includes(u.protocol)) external.push(rq.url());
  });
}

async function axe(page, what) {
  await page.evaluate(AXE); // through the DevTools protocol: the page's CSP stays in force
  const res = await page.evaluate(async () => await window.axe.run(document, {resultTypes: ['violations']}));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`), [], `axe on ${what}`);
}

async function drop(page, file, opts = {}) {
  await page.fill('#at', opts.at || '');
  await page.fill('#nonce', '');
  await page.setInputFiles('#collateral', opts.collateral || []);
  await page.setInputFiles('#trust', opts.trust || []);
  await page.evaluate(() => { delete document.body.dataset.renderMs; });
  const bytes = opts.bytes || fs.readFileSync(file);
  const dt = await page.evaluateHandle(({b64, name}) => {
    const bin = atob(b64);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    const d = new DataTransfer();
    d.items.add(new File([u], name));
    return d;
  }, {b64: Buffer.from(bytes).toString('base64'), name: path.basename(file)});
  await page.dispatchEvent('#drop', 'drop', {dataTransfer: dt});
  await page.waitForFunction(() => document.body.dataset.renderMs !== undefined ||
    /Refused|Error/.test(document.getElementById('explore-status').textContent), null, {timeout: 20000});
  const status = await page.textContent('#explore-status');
  assert.doesNotMatch(status, /Refused|Error/, `${file}: ${status}`);
  return Number(await page.evaluate(() => document.body.dataset.renderMs));
}
// Moves the focus with Tab (only) until the element matching sel has it.
async function tabTo(page, sel, max = 120) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((q) => document.activeElement !== null && document.activeElement.matches(q), sel)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${sel}`);
}

// Every answer the page receives from the server, as text (to assert what never comes down).
function watchBodies(page) {
  const bodies = [];
  page.on('response', async (r) => {
    try { bodies.push({url: r.url(), text: await r.text()}); } catch (e) { /* redirects, aborted */ }
  });
  return bodies;
}

function assertNoSecret(bodies, secrets) {
  assert.ok(bodies.some((b) => /\/kbs\/v0\/admin\/versions\//.test(b.url)), 'the version listings were seen');
  for (const sec of secrets) {
    const forms = [sec, Buffer.from(sec).toString('base64'), Buffer.from(sec).toString('base64url'), Buffer.from(sec).toString('hex')];
    for (const b of bodies) for (const f of forms) assert.ok(!b.text.includes(f), `${b.url} carries a form of a secret value`);
  }
}

const lastDraw = async (page) => Number(await page.evaluate(() => document.body.dataset.drawMs));
const draws = [];

const field = (page, k) => page.$eval(`#decoded tr[data-field="${k}"] td`, (e) => e.textContent);
const checkStatus = (page, name) => page.$eval(`#checks tr[data-check="${name}"]`, (e) => e.className);
const summary = (page) => page.textContent('#summary-h');

const page = await ctx.newPage();
watch(page);
await page.goto(UI_URL + '/');
const timings = [];

await test('TDX: every vector decodes; MRTD shown equals the quote bytes', async () => {
  const dirs = fs.readdirSync(path.join(V, 'tdx')).filter((d) => fs.existsSync(path.join(V, 'tdx', d, 'quote.bin')));
  assert.ok(dirs.length >= 4);
  for (const d of dirs) {
    const q = fs.readFileSync(path.join(V, 'tdx', d, 'quote.bin'));
    await drop(page, path.join(V, 'tdx', d, 'quote.bin'));
    const ver = q.readUInt16LE(0), teeType = q.readUInt32LE(4);
    assert.equal(await field(page, 'Version'), String(ver), d);
    assert.ok((await page.$$('#checks tr.check')).length >= 1, `${d}: checks shown`);
    if (teeType === 0x81) {
      const off = ver === 5 ? 54 : 48;
      assert.equal(await field(page, 'mr_td'), hex(q.subarray(off + 136, off + 184)), `${d} MRTD`);
      assert.match(await summary(page), /^TDX evidence/);
    } else {
      assert.equal(await field(page, 'MRENCLAVE'), hex(q.subarray(48 + 64, 48 + 96)), `${d} MRENCLAVE`);
      assert.match(await summary(page), /^SGX evidence/);
    }
    // without collateral nothing verifies, and the page says collateral is missing
    assert.match(await summary(page), /rejected/);
  }
});

const TDX_OK = path.join(V, 'tdx', 'dcapqvl_tdx_v4_b0c06f');
await test('TDX with collateral at its instant: verified, chain pinned, TCB UpToDate', async () => {
  const ms = await drop(page, path.join(TDX_OK, 'quote.bin'), {at: '2025-07-19T10:00:34Z',
    collateral: files(TDX_OK, ['quote.bin'])});
  timings.push(ms);
  draws.push(await lastDraw(page));
  assert.match(await summary(page), /TDX evidence: verified/);
  for (const c of ['quote_signature', 'pck_chain', 'qe_report_signature', 'tcb_info_signature']) {
    assert.match(await checkStatus(page, c), /pass/, c);
  }
  const certs = await page.$$eval('#chain li.cert', (l) => l.map((e) => e.textContent));
  assert.equal(certs.length, 3);
  assert.match(certs[0], /Intel SGX Root CA[\s\S]*pinned root \(built in\)/);
  assert.match(certs[2], /Intel SGX PCK Certificate/);
  assert.match(await page.textContent('#tcb'), /UpToDate/);
  assert.ok(await page.$('#download-claims'));
  await page.screenshot({path: path.join(SHOTS, 'explorer-tdx.png'), fullPage: true});
  await page.locator('#summary').screenshot({path: path.join(SHOTS, 'doc-tdx-summary.png')});
  await page.locator('#checks').screenshot({path: path.join(SHOTS, 'doc-tdx-checks.png')});
  await page.locator('#decoded details').nth(1).screenshot({path: path.join(SHOTS, 'doc-tdx-fields.png')});
  await page.locator('#chain').screenshot({path: path.join(SHOTS, 'doc-tdx-chain.png')});
  for (let i = 0; i < 4; i++) {
    timings.push(await drop(page, path.join(TDX_OK, 'quote.bin'), {at: '2025-07-19T10:00:34Z',
      collateral: files(TDX_OK, ['quote.bin'])}));
    draws.push(await lastDraw(page));
  }
});

await test('claims JSON download', async () => {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download-claims')]);
  const p = await dl.path();
  const j = JSON.parse(fs.readFileSync(p, 'utf8'));
  assert.equal(j.tee, 'tdx');
  assert.equal(j.claims.tcb_status, 'UpToDate');
});

await test('tampered TDX quote: the failing check is shown', async () => {
  const q = Buffer.from(fs.readFileSync(path.join(TDX_OK, 'quote.bin')));
  q[48 + 136] ^= 0x01; // one bit of MRTD
  await drop(page, path.join(TDX_OK, 'quote.bin'), {bytes: q, at: '2025-07-19T10:00:34Z', collateral: files(TDX_OK, ['quote.bin'])});
  assert.match(await summary(page), /rejected/);
  assert.match(await checkStatus(page, 'quote_signature'), /fail/);
  assert.match(await page.textContent('#summary .reason'), /quote_signature/);
  await page.screenshot({path: path.join(SHOTS, 'explorer-tampered.png'), fullPage: false});
  await page.locator('#summary').screenshot({path: path.join(SHOTS, 'doc-tampered-summary.png')});
});

await test('TDX with a policy: expected vs actual side by side, difference marked', async () => {
  await page.fill('#policy', JSON.stringify({id: 'pin-mrtd', measurements: {mr_td: ['00'.repeat(48)]}}));
  await drop(page, path.join(TDX_OK, 'quote.bin'), {at: '2025-07-19T10:00:34Z', collateral: files(TDX_OK, ['quote.bin'])});
  assert.match(await page.textContent('#appraisal'), /pin-mrtd/);
  assert.ok((await page.$$('#appraisal tr.differs mark')).length > 0, 'differing characters highlighted');
  await page.screenshot({path: path.join(SHOTS, 'explorer-policy.png'), fullPage: false});
  await page.locator('#appraisal').screenshot({path: path.join(SHOTS, 'doc-policy.png')});
  await page.fill('#policy', '');
});

await test('SNP: every report decodes; MEASUREMENT equals the report bytes; one verifies with its chain', async () => {
  const dirs = fs.readdirSync(path.join(V, 'snp')).filter((d) => fs.existsSync(path.join(V, 'snp', d, 'report.bin')));
  assert.ok(dirs.length >= 5);
  for (const d of dirs) {
    const r = fs.readFileSync(path.join(V, 'snp', d, 'report.bin'));
    await drop(page, path.join(V, 'snp', d, 'report.bin'));
    assert.equal(await field(page, 'measurement'), hex(r.subarray(0x90, 0xc0)), `${d} MEASUREMENT`);
    assert.equal(await field(page, 'version'), String(r.readUInt32LE(0)), `${d} VERSION`);
  }
  const S = path.join(V, 'snp', 'milan_v3_routex');
  await drop(page, path.join(S, 'report.bin'), {at: '2025-12-08T00:00:00Z', collateral: files(S, ['report.bin']),
    trust: files(path.join(V, 'snp', 'chains'), [])});
  assert.match(await summary(page), /SNP evidence: verified/);
  const snpCerts = await page.$$eval('#chain li.cert', (l) => l.map((e) => e.textContent));
  assert.equal(snpCerts.length, 3, 'ARK, ASK, VCEK');
  assert.match(snpCerts[0], /ARK-Milan[\s\S]*(pinned root|trust anchor given)/);
  assert.match(snpCerts[2], /SEV-VCEK/);
  await page.screenshot({path: path.join(SHOTS, 'explorer-snp.png'), fullPage: true});
});

await test('CCA: every token decodes and verifies with the test CPAKs', async () => {
  const toks = fs.readdirSync(path.join(V, 'cca', 'tokens')).filter((f) => f.endsWith('.cbor'));
  assert.ok(toks.length >= 5);
  for (const t of toks) {
    await drop(page, path.join(V, 'cca', 'tokens', t), {trust: files(path.join(V, 'cca', 'keys'), [])});
    assert.match(await summary(page), /CCA evidence: verified/, t);
    const groups = await page.$$eval('#decoded .gname', (l) => l.map((e) => e.textContent));
    assert.deepEqual(groups, ['CCA attestation token', 'Platform claims', 'Realm claims'], t);
    assert.match(await field(page, 'rim'), /^[0-9a-f]{64,128}$/, `${t} RIM`);
  }
  await page.screenshot({path: path.join(SHOTS, 'explorer-cca.png'), fullPage: false});
  await axe(page, 'explorer with a CCA analysis');
});

await test('keyboard only: paste, analyze, jump to a section', async () => {
  const kp = await ctx.newPage();
  watch(kp);
  await kp.goto(UI_URL + '/');
  const q = fs.readFileSync(path.join(TDX_OK, 'quote.bin'));
  const seen = [];
  for (let i = 0; i < 30 && seen[seen.length - 1] !== 'evidence-text'; i++) {
    await kp.keyboard.press('Tab');
    seen.push(await kp.evaluate(() => document.activeElement.id || document.activeElement.tagName));
  }
  assert.equal(seen[seen.length - 1], 'evidence-text', `tab order: ${seen.join(' ')}`);
  await kp.keyboard.insertText(q.toString('base64'));
  for (let i = 0; i < 30 && (await kp.evaluate(() => document.activeElement.id)) !== 'analyze'; i++) await kp.keyboard.press('Tab');
  assert.equal(await kp.evaluate(() => document.activeElement.id), 'analyze');
  await kp.keyboard.press('Enter');
  await kp.waitForSelector('#summary-h');
  assert.equal(await kp.evaluate(() => document.activeElement.id), 'summary-h', 'focus moves to the result');
  for (let i = 0; i < 10 && (await kp.evaluate(() => document.activeElement.textContent)) !== 'Chain of trust'; i++) {
    await kp.keyboard.press('Tab');
  }
  await kp.keyboard.press('Enter');
  assert.equal(await kp.evaluate(() => document.activeElement.id), 'chain-h');
  await axe(kp, 'explorer after a keyboard-driven analysis');
  await kp.close();
});

// A guest attests with a real quote the broker cannot verify (it has no collateral): the
// dashboard's counters and denials must show it, with the failing check.
await test('a guest attestation the broker denies (RCAR auth + attest)', async () => {
  const a = await fetch(KBS_URL + '/kbs/v0/auth', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({version: '0.4.0', tee: 'tdx', 'extra-params': ''})});
  assert.equal(a.status, 200);
  const cookie = a.headers.get('set-cookie').split(';')[0];
  const {nonce} = await a.json();
  const {publicKey} = crypto.generateKeyPairSync('ec', {namedCurve: 'P-256'});
  const jwk = publicKey.export({format: 'jwk'});
  const body = {'init-data': null, 'runtime-data': {nonce, 'tee-pubkey': {...jwk, alg: 'ECDH-ES+A256KW'}},
    'tee-evidence': {primary_evidence: {quote: fs.readFileSync(path.join(TDX_OK, 'quote.bin')).toString('base64'), cc_eventlog: null},
      additional_evidence: ''}};
  const r = await fetch(KBS_URL + '/kbs/v0/attest', {method: 'POST', headers: {'Content-Type': 'application/json', Cookie: cookie},
    body: JSON.stringify(body)});
  assert.notEqual(r.status, 200, 'no collateral on the broker: the attestation is refused');
});

await test('dashboard: load the key, put, rotate, revoke; the audit view shows both, chain verified', async () => {
  const dp = await ctx.newPage();
  watch(dp);
  const bodies = watchBodies(dp);
  await dp.goto(KBS_URL + '/#/dashboard');
  await dp.waitForSelector('#dash-body:not([hidden])');
  await axe(dp, 'dashboard before the key');
  await dp.fill('#admin-key-text', fs.readFileSync(ADMIN_KEY, 'utf8'));
  await dp.click('#admin-load');
  await dp.waitForSelector('#audit table');
  assert.match(await dp.textContent('#admin-status'), /key loaded/);
  assert.equal(await dp.inputValue('#admin-key-text'), '', 'the key text leaves the form');
  assert.match(await dp.textContent('#readiness'), /ready/);
  await dp.fill('#res-path', 'default/key/disk1');
  await dp.fill('#res-value', 'first secret');
  await dp.click('#res-put');
  await dp.waitForFunction(() => /version 1/.test(document.getElementById('res-status').textContent));
  await dp.fill('#res-value', 'second secret');
  await dp.click('#res-rotate');
  await dp.waitForFunction(() => /rotated default\/key\/disk1: version 2/.test(document.getElementById('res-status').textContent));
  await dp.waitForSelector('button.revoke[data-version="2"]', {timeout: 5000}).catch(async (e) => {
    throw new Error(`${e.message}; resources: ${await dp.textContent('#resources')}; status: ${await dp.textContent('#res-status')}; admin: ${await dp.textContent('#admin-status')}`);
  });
  // rotating revoked version 1 already; the admin now revokes the current one
  assert.match(await dp.textContent('#resources tr[data-version="1"]'), /revoked/);
  await dp.click('button.revoke[data-version="2"]');
  await dp.waitForFunction(() => /revoked default\/key\/disk1 version 2/.test(document.getElementById('res-status').textContent));
  await dp.waitForSelector('#audit tr[data-action="resource.revoke"]');
  assert.ok(await dp.$('#audit tr[data-action="resource.rotate"][data-outcome="ok"]'));
  assert.ok(await dp.$('#audit tr[data-action="resource.put"][data-outcome="ok"]'));
  assert.match(await dp.textContent('#audit-state'), /chain verified/);
  // paging back to the start works; the unsigned calls of the first test are counted in the
  // metrics and summarized once a minute, never written one record each (docs/kbs.md), so the
  // chain starts with the admin's own signed actions
  await dp.click('#audit-older');
  await dp.waitForSelector('#audit tr[data-seq="1"]');
  assert.equal(await dp.getAttribute('#audit tr[data-seq="1"]', 'data-outcome'), 'ok');
  await dp.click('#audit-latest');
  await dp.waitForSelector('#audit tr[data-action="resource.revoke"]');
  const page1 = await dp.content();
  assert.doesNotMatch(page1, /first secret|second secret/, 'no secret value in the page');
  // each version shows its value's SHA-256, computed here from the values typed
  const sha = (t) => crypto.createHash('sha256').update(t).digest('hex');
  assert.equal(await dp.textContent('#resources tr[data-version="1"] code.digest'), sha('first secret'));
  assert.equal(await dp.textContent('#resources tr[data-version="2"] code.digest'), sha('second secret'));
  // a policy with an error: refused, the JSON path shown
  await dp.fill('#pol-name', 'strict');
  await dp.fill('#pol-text', JSON.stringify({id: 'strict', snp: {vmpl: 'zero'}}));
  const before = errors.length;
  await dp.click('#pol-save');
  await dp.waitForSelector('#pol-status code.json-path');
  // the refusal is an HTTP 401 (the KBS protocol's ParsePolicyError), which Chromium logs as a
  // failed resource load: that one expected line, and only it, is not a console error of the page
  const extra = errors.splice(before);
  assert.deepEqual(extra.filter((m) => !/status of 401/.test(m)), []);
  assert.ok(extra.length <= 1);
  assert.match(await dp.textContent('#pol-status code.json-path'), /policy\.snp\.vmpl/);
  await dp.fill('#pol-text', JSON.stringify({id: 'strict', allow_debug: false}));
  await dp.click('#pol-save');
  await dp.waitForFunction(() => /saved attestation policy strict/.test(document.getElementById('pol-status').textContent));
  await dp.click('#pol-load');
  await dp.waitForFunction(() => /loaded/.test(document.getElementById('pol-status').textContent));
  assert.match(await dp.inputValue('#pol-text'), /"allow_debug": false/);
  await dp.click('#refresh');
  await dp.waitForSelector('#stats table');
  await dp.waitForSelector('#denials table');
  assert.match(await dp.textContent('#stats'), /tdx \/ \w+\s*1/, 'the denied attestation is counted');
  const den = await dp.textContent('#denials');
  assert.match(den, /attest/);
  assert.match(den, /collateral|missing/i, 'the failing check is shown');
  await dp.locator('section[aria-labelledby="deny-h"]').screenshot({path: path.join(SHOTS, 'doc-dashboard-denials.png')});
  await dp.screenshot({path: path.join(SHOTS, 'dashboard.png'), fullPage: true});
  await dp.locator('section[aria-labelledby="res-h"]').screenshot({path: path.join(SHOTS, 'doc-dashboard-resources.png')});
  const box = await dp.locator('section[aria-labelledby="audit-h"]').boundingBox();
  await dp.screenshot({path: path.join(SHOTS, 'doc-dashboard-audit.png'), fullPage: true,
    clip: {x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 640)}});
  await dp.locator('section[aria-labelledby="ready-h"]').screenshot({path: path.join(SHOTS, 'doc-dashboard-counters.png')});
  await axe(dp, 'dashboard with data');
  // reference values: a refused document shows the JSON path of the error; a good one is saved
  await dp.fill('#rv-id', 'tdx-image');
  await dp.fill('#rv-text', JSON.stringify({reference_values: [{name: 'mr_td', value: 'not hex'}]}));
  await dp.click('#rv-save');
  await dp.waitForSelector('#rv-status code.json-path');
  assert.match(await dp.textContent('#rv-status code.json-path'), /^reference_values\[0\]\.value$/);
  assert.equal(await dp.getAttribute('#rv-text', 'aria-invalid'), 'true');
  await axe(dp, 'dashboard with a refused reference-value document');
  await dp.locator('section[aria-labelledby="rv-h"]').screenshot({path: path.join(SHOTS, 'doc-dashboard-refvals.png')});
  errors.splice(0, errors.length, ...errors.filter((m) => !/status of 400/.test(m)));
  await dp.fill('#rv-text', JSON.stringify({reference_values: [{name: 'mr_td', value: 'ab'.repeat(48)}]}));
  await dp.click('#rv-save');
  await dp.waitForFunction(() => /saved reference values tdx-image/.test(document.getElementById('rv-status').textContent));
  await dp.waitForSelector('#rv-list tr[data-refvals="tdx-image"]');
  await dp.fill('#rv-text', '');
  await dp.click('#rv-load');
  await dp.waitForFunction(() => /loaded reference values/.test(document.getElementById('rv-status').textContent));
  assert.match(await dp.inputValue('#rv-text'), new RegExp('ab'.repeat(48)));
  // an id that is not a plain name reaches the server as itself and is refused; unencoded, its
  // '?' would have cut it to 'tdx-image' and silently overwritten that document
  await dp.fill('#rv-id', 'tdx-image?x=1');
  await dp.evaluate(() => { document.getElementById('rv-status').textContent = ''; });
  await dp.click('#rv-save');
  await dp.waitForFunction(() => document.getElementById('rv-status').textContent !== '');
  assert.doesNotMatch(await dp.textContent('#rv-status'), /saved/);
  assert.equal(await dp.$('#rv-list tr[data-refvals="tdx-image?x=1"]'), null);
  errors.splice(0, errors.length, ...errors.filter((m) => !/status of 40[01]/.test(m)));
  await dp.fill('#rv-id', 'tdx-image');
  await dp.click('#audit-latest');
  await dp.waitForSelector('#audit tr[data-action="refvals.put"][data-outcome="ok"]');
  assert.ok(await dp.$('#audit tr[data-action="refvals.put"][data-outcome="error"]'), 'the refused document is audited too');
  await axe(dp, 'dashboard with reference values');
  assertNoSecret(bodies, ['first secret', 'second secret']);
  await dp.close();
});

await test('Ed25519 admin key in WebCrypto; keyboard only: sign in, put, rotate, revoke, edit a policy, page the audit log', async () => {
  const kp = await ctx.newPage();
  watch(kp);
  const bodies = watchBodies(kp);
  await kp.goto(KBS_ED_URL + '/#/dashboard');
  await kp.waitForSelector('#dash-body:not([hidden])');
  const ed = await kp.evaluate(async () => {
    try { await crypto.subtle.generateKey({name: 'Ed25519'}, false, ['sign']); return true; } catch (e) { return false; }
  });
  await kp.waitForFunction(() => document.getElementById('ed25519-note').textContent !== '');
  const version = ctx.browser() ? ctx.browser().version() : 'chromium';
  if (!ed) {
    // documented (docs/console.md): without Ed25519 in WebCrypto the page says so and refuses the key
    assert.match(await kp.textContent('#ed25519-note'), /no Ed25519/);
    console.log(`note: ${version}: WebCrypto has no Ed25519; the keyboard pass runs with the P-256 key`);
  } else {
    assert.match(await kp.textContent('#ed25519-note'), /signs with Ed25519/);
  }
  const keyPem = fs.readFileSync(ed ? ADMIN_KEY_ED : ADMIN_KEY, 'utf8');
  const base = ed ? KBS_ED_URL : KBS_URL;
  if (!ed) await kp.goto(base + '/#/dashboard');
  await axe(kp, 'dashboard before the key (Ed25519 server)');
  // the key: typed into the form, the button pressed with Enter
  await tabTo(kp, '#admin-key-text');
  await kp.keyboard.insertText(keyPem);
  await tabTo(kp, '#admin-load');
  await kp.keyboard.press('Enter');
  await kp.waitForSelector('#audit table');
  assert.match(await kp.textContent('#admin-status'), ed ? /Ed25519 key loaded.*EdDSA/ : /P-256 key loaded/);
  // put, then rotate
  await tabTo(kp, '#res-path');
  await kp.keyboard.insertText('default/key/kbd');
  await tabTo(kp, '#res-value');
  await kp.keyboard.insertText('kbd secret one');
  await tabTo(kp, '#res-put');
  await kp.keyboard.press('Enter');
  await kp.waitForFunction(() => /stored default\/key\/kbd: version 1/.test(document.getElementById('res-status').textContent));
  await tabTo(kp, '#res-value');
  await kp.keyboard.insertText('kbd secret two');
  await tabTo(kp, '#res-rotate');
  await kp.keyboard.press('Enter');
  await kp.waitForFunction(() => /rotated default\/key\/kbd: version 2/.test(document.getElementById('res-status').textContent));
  // revoke the current version with its button, reached with Tab
  await kp.waitForSelector('#resources tr[data-resource="default/key/kbd"] button.revoke[data-version="2"]');
  await tabTo(kp, 'tr[data-resource="default/key/kbd"] button.revoke[data-version="2"]', 200);
  await kp.keyboard.press('Enter');
  await kp.waitForFunction(() => /revoked default\/key\/kbd version 2/.test(document.getElementById('res-status').textContent));
  await axe(kp, 'dashboard after keyboard resource actions');
  // edit a policy: name, text, save with Enter on the submit button
  await tabTo(kp, '#pol-name');
  await kp.keyboard.press('Control+A');
  await kp.keyboard.insertText('kbd-policy');
  await tabTo(kp, '#pol-text');
  await kp.keyboard.insertText(JSON.stringify({id: 'kbd-policy', allow_debug: false}));
  await tabTo(kp, '#pol-save');
  await kp.keyboard.press('Enter');
  await kp.waitForFunction(() => /saved attestation policy kbd-policy/.test(document.getElementById('pol-status').textContent));
  // page the audit log: older, newer, latest, each with the keyboard
  await tabTo(kp, '#audit-older');
  await kp.keyboard.press('Enter');
  await kp.waitForSelector('#audit tr[data-seq="1"]');
  await tabTo(kp, '#audit-latest');
  await kp.keyboard.press('Enter');
  await kp.waitForSelector('#audit tr[data-action="policy.attestation"][data-outcome="ok"]');
  for (const a of ['resource.put', 'resource.rotate', 'resource.revoke']) {
    const actor = await kp.getAttribute(`#audit tr[data-action="${a}"]`, 'data-outcome');
    assert.equal(actor, 'ok', a);
  }
  assert.match(await kp.textContent('#audit'), /admin:console/);
  assert.match(await kp.textContent('#audit-state'), /chain verified/);
  await axe(kp, 'dashboard after keyboard policy edit and audit paging');
  await kp.screenshot({path: path.join(SHOTS, 'dashboard-keyboard.png'), fullPage: true});
  assertNoSecret(bodies, ['kbd secret one', 'kbd secret two']);
  await kp.close();
});

// Another broker on the console's store (same KEK and admin key) with a small --audit-check-window:
// its first audit view checks only the newest n records, and the page must say so.
async function windowBroker(n) {
  const tmp = process.env.TMPDIR || '/tmp';
  const p = spawn(process.env.VERITEE_BIN, ['serve', '--listen', '127.0.0.1:0', '--db', `sqlite:${path.join(tmp, 'kbs.db')}`,
    '--kek-file', path.join(tmp, 'kek.hex'), '--admin-key', path.join(tmp, 'admin.pub'), '--audit-check-window', String(n)],
  {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the window broker did not start: ${out}`)), 30000);
    const seen = (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    };
    p.stdout.on('data', seen);
    p.stderr.on('data', seen);
    p.on('exit', (c) => { clearTimeout(t); reject(new Error(`the window broker exited ${c}: ${out}`)); });
  });
  const stop = () => new Promise((resolve) => { p.removeAllListeners('exit'); p.on('exit', resolve); p.kill('SIGTERM'); });
  return {url, stop};
}

// The dashboard of the broker at url, signed in with the P-256 admin key, its audit log shown.
async function signedDashboard(url) {
  const p = await ctx.newPage();
  watch(p);
  await p.goto(url + '/#/dashboard');
  await p.waitForSelector('#dash-body:not([hidden])');
  await p.fill('#admin-key-text', fs.readFileSync(ADMIN_KEY, 'utf8'));
  await p.click('#admin-load');
  await p.waitForSelector('#audit table');
  return p;
}

async function windowView(url) {
  const wp = await signedDashboard(url);
  const head = Number((await wp.textContent('#audit-chain')).match(/head #(\d+) /)[1]);
  assert.match(await wp.textContent('#audit-state'), /chain verified/);
  return {wp, head, text: await wp.textContent('#audit-archived')};
}

await test('dashboard on a broker with --audit-check-window 3: the chain checked from the newest records, and said', async () => {
  const w = await windowBroker(3);
  try {
    const {wp, head, text} = await windowView(w.url);
    assert.ok(head > 3, `head ${head}`);
    assert.equal(text, `Nothing archived: the store holds the whole log from record 1; chain checked from #${head - 2} ` +
      '(veritee audit verify reads the rest).');
    await wp.close();
  } finally {
    await w.stop();
  }
});

await test('dashboard after veritee audit archive: the archived records named, the store\'s range, chain intact', async () => {
  // after the keyboard pass (which, without Ed25519 in WebCrypto, pages this broker back to record 1)
  const ap = await signedDashboard(KBS_URL);
  assert.match(await ap.textContent('#audit-archived'), /Nothing archived: the store holds the whole log from record 1/);
  // the scheduled archive, run beside the serving broker: all but the newest 5 records out
  const tmp = process.env.TMPDIR || '/tmp';
  const dir = path.join(tmp, 'audit-archive');
  fs.mkdirSync(dir, {recursive: true});
  const db = `sqlite:${path.join(tmp, 'kbs.db')}`;
  const r = spawnSync(process.env.VERITEE_BIN, ['audit', 'archive', '--db', db, '--keep', '5', '--out-dir', dir, '--json']);
  assert.equal(r.status, 0, String(r.stderr));
  const arch = JSON.parse(String(r.stdout));
  const base = arch.last_seq;
  assert.ok(base > 1 && arch.first_seq === 1, JSON.stringify(arch));
  await ap.click('#refresh');
  await ap.waitForFunction((b) => document.getElementById('audit-archived').textContent.includes(`Records 1–${b} archived`), base);
  const shown = await ap.textContent('#audit-archived');
  const m = shown.match(/the store holds (\d+)–(\d+), chain intact from the archive base #(\d+)\./);
  assert.ok(m, shown);
  assert.equal(Number(m[1]), base + 1);
  assert.equal(Number(m[3]), base);
  const head = Number(m[2]);
  assert.ok(head >= base + 5, shown);
  assert.match(await ap.textContent('#audit-chain'), new RegExp(`head #${head} `));
  assert.match(await ap.textContent('#audit-state'), /chain verified/);
  assert.match(await ap.textContent('#audit-chain'), new RegExp(` ${head - base} records;`));
  // the page of stored records starts after the base; the archived ones are not there, even paging back
  await ap.waitForSelector(`#audit tr[data-seq="${base + 1}"]`);
  await ap.click('#audit-older');
  await ap.waitForSelector(`#audit tr[data-seq="${base + 1}"]`);
  assert.equal(await ap.$(`#audit tr[data-seq="${base}"]`), null);
  assert.equal(await ap.$('#audit tr[data-seq="1"]'), null);
  await ap.click('#audit-latest');
  await axe(ap, 'dashboard with an archived audit log');
  await ap.locator('section[aria-labelledby="audit-h"]').screenshot({path: path.join(SHOTS, 'doc-dashboard-audit-archived.png')});
  // what the page says is what the files prove: the archive and the store verify together
  const v = spawnSync(process.env.VERITEE_BIN, ['audit', 'verify', '--db', db, '--archive-dir', dir]);
  assert.equal(v.status, 0, String(v.stderr));
  assert.match(String(v.stdout), new RegExp(`archives intact: ${base} records, 1 to ${base}, in 1 file`));
  await ap.close();
  // a broker whose first check covers only the newest 3 records does not claim the base
  const w = await windowBroker(3);
  try {
    const {wp, head: h2, text} = await windowView(w.url);
    assert.ok(h2 - 2 > base + 1, `head ${h2}, base ${base}`);
    assert.match(text, new RegExp(`^Records 1–${base} archived .*; the store holds ${base + 1}–${h2}, chain checked from ` +
      `#${h2 - 2} \\(veritee audit verify reads the rest\\)\\.$`));
    await wp.close();
  } finally {
    await w.stop();
  }
});

await test('verify --html: one self-contained file shows the same analysis offline', async () => {
  const out = path.join(process.env.TMPDIR || '/tmp', 'report.html');
  const r = spawnSync(process.env.VERITEE_BIN, ['verify', '--collateral', TDX_OK, '--at', '2025-07-19T10:00:34Z', '--html', out,
    path.join(TDX_OK, 'quote.bin')]);
  assert.equal(r.status, 0, String(r.stderr));
  const html = fs.readFileSync(out, 'utf8');
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.intel\.com)/, 'nothing loaded from elsewhere');
  const hp = await ctx.newPage();
  watch(hp);
  await hp.goto('file://' + out);
  assert.match(await hp.textContent('#summary-h'), /TDX evidence: verified/);
  const q = fs.readFileSync(path.join(TDX_OK, 'quote.bin'));
  assert.equal(await hp.$eval('#decoded tr[data-field="mr_td"] td', (e) => e.textContent), hex(q.subarray(48 + 136, 48 + 184)));
  assert.match(await hp.$eval('#checks tr[data-check="quote_signature"]', (e) => e.className), /pass/);
  await hp.close();
  const bad = spawnSync(process.env.VERITEE_BIN, ['verify', '--at', '2025-07-19T10:00:34Z', '--html', out, path.join(TDX_OK, 'quote.bin')]);
  assert.equal(bad.status, 3, 'the exit code is the verification\'s (collateral missing), the file is still written');
  assert.match(fs.readFileSync(out, 'utf8'), /missing_collateral\":true/);
});

await test('no console errors, no request left the server', async () => {
  assert.deepEqual(errors, []);
  assert.deepEqual(external, []);
});

await ctx.close();
if (timings.length) {
  const s = [...timings].sort((a, b) => a - b);
  console.log(`measure: TDX quote, drop to drawn full analysis: median ${s[Math.floor(s.length / 2)]} ms, ` +
    `min ${s[0]} ms, max ${s[s.length - 1]} ms (${s.length} runs, incl. upload of collateral and verification); ` +
    `drawing alone (DOM, layout, first paint): median ${[...draws].sort((a, b) => a - b)[Math.floor(draws.length / 2)]} ms`);
}
console.log(failures ? `${failures} test(s) failed` : 'all console tests passed');
process.exit(failures ? 1 : 0);
