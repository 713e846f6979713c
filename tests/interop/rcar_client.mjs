// Independent RCAR 0.4.0 guest (CoCo KBS protocol, shared/specs/kbs-protocol.md), written from the
// protocol note and sharing no code with veritee's server or client: its own JCS (RFC 8785) and
// SHA-384 runtime-data binding, its own evidence JSON shapes (tdx / snp serde form / cca), the TEE
// key and the JWE decryption from the `jose` npm package. Evidence bytes come from
// `veritee evidence get --report-data HEX` (the emulated TEE).
//
// node rcar_client.mjs --jose DIR --kbs URL --veritee BIN --emulator DIR --tee tdx|snp|cca
//   --key ec|rsa --auth cookie|bearer --resource R/T/T --expect FILE [--negative]
// Prints one line per step; exit 0 when every assertion holds, 1 otherwise.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--negative') args.negative = true;
  else args[a.replace(/^--/, '')] = process.argv[++i];
}
const jose = await import(pathToFileURL(join(args.jose, 'node_modules/jose/dist/webapi/index.js')).href)
  .catch(() => import(pathToFileURL(join(args.jose, 'node_modules/jose/dist/node/esm/index.js')).href));

let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${args.tee}/${args.key}/${args.auth}: ${what}`);
  if (!ok) failures++;
};
const TIMEOUT = 15000;

// ---- RFC 8785 canonical JSON: keys sorted by UTF-16 code units, ES number and string forms ----
function jcs(v) {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('JCS: non-finite number');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  const keys = Object.keys(v).sort(); // Array.prototype.sort compares UTF-16 code units
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}
// Known answer from the AS unit tests (kbs-protocol.md §7.1).
{
  const t = jcs({ b: 1, a: 'test', c: { d: 'e' } });
  const h = createHash('sha384').update(t).digest('hex');
  if (t !== '{"a":"test","b":1,"c":{"d":"e"}}' ||
      h !== 'e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3') {
    console.log('FAIL JCS known answer'); process.exit(1);
  }
}

// ---- evidence JSON shapes (§8) ----
const u32 = (b, o) => b.readUInt32LE(o);
const u64 = (b, o) => Number(b.readBigUInt64LE(o));
const arr = (b, o, n) => Array.from(b.subarray(o, o + n));
function tcb(b, o, turin) {
  return turin
    ? { fmc: b[o], bootloader: b[o + 1], tee: b[o + 2], snp: b[o + 3], microcode: b[o + 7] }
    : { fmc: null, bootloader: b[o], tee: b[o + 1], snp: b[o + 6], microcode: b[o + 7] };
}
// The `sev` crate's serde form of ATTESTATION_REPORT (SNP ABI spec 56860, "Attestation Report").
function snpReport(b) {
  if (b.length !== 1184) throw new Error(`SNP report is ${b.length} bytes`);
  const version = u32(b, 0);
  const hasCpuid = version >= 3;
  const turin = hasCpuid && b[0x188] === 0x1a;
  const ver = (o) => ({ major: b[o + 2], minor: b[o + 1], build: b[o] });
  return {
    version, guest_svn: u32(b, 4), policy: u64(b, 8), family_id: arr(b, 0x10, 16), image_id: arr(b, 0x20, 16),
    vmpl: u32(b, 0x30), sig_algo: u32(b, 0x34), current_tcb: tcb(b, 0x38, turin), plat_info: u64(b, 0x40),
    key_info: u32(b, 0x48), report_data: arr(b, 0x50, 64), measurement: arr(b, 0x90, 48),
    host_data: arr(b, 0xc0, 32), id_key_digest: arr(b, 0xe0, 48), author_key_digest: arr(b, 0x110, 48),
    report_id: arr(b, 0x140, 32), report_id_ma: arr(b, 0x160, 32), reported_tcb: tcb(b, 0x180, turin),
    cpuid_fam_id: hasCpuid ? b[0x188] : null, cpuid_mod_id: hasCpuid ? b[0x189] : null,
    cpuid_step: hasCpuid ? b[0x18a] : null, chip_id: arr(b, 0x1a0, 64), committed_tcb: tcb(b, 0x1e0, turin),
    current: ver(0x1e8), committed: ver(0x1ec), launch_tcb: tcb(b, 0x1f0, turin),
    launch_mit_vector: version >= 5 ? u64(b, 0x1f8) : null, current_mit_vector: version >= 5 ? u64(b, 0x200) : null,
    signature: { r: arr(b, 0x2a0, 72), s: arr(b, 0x2e8, 72) },
  };
}
// GHCB spec certificate table: {GUID(16), offset u32, length u32} entries, all-zero terminator.
const GUIDS = {
  '63da758de6644564adc5f4b93be8accd': 'VCEK', 'a8074bc2a25a483eaae639c045a0b8a1': 'VLEK',
  '4ab7b379bbac4fe4a02f05aef327c782': 'ASK', 'c0b406a4a803495297433fb6014cd0ae': 'ARK',
  '92f81bc358114d3d97ffd19f88dc67ea': 'CRL',
};
function certChain(t) {
  const out = [];
  for (let o = 0; o + 24 <= t.length; o += 24) {
    const g = t.subarray(o, o + 16).toString('hex');
    if (/^0+$/.test(g)) break;
    const off = u32(t, o + 16), len = u32(t, o + 20);
    out.push({ cert_type: GUIDS[g] ?? 'OTHER', data: arr(t, off, len) });
  }
  return out.length ? out : null;
}

function evidence(tee, reportDataHex, dir) {
  const ev = join(dir, 'ev.bin'), aux = join(dir, 'aux.bin');
  const a = ['evidence', 'get', '--tee', tee, '--provider', 'emulated', '--emulator', args.emulator,
    '--report-data', reportDataHex, '-o', ev];
  if (tee === 'snp') a.push('--aux-out', aux);
  execFileSync(args.veritee, a, { timeout: TIMEOUT, stdio: ['ignore', 'ignore', 'inherit'] });
  const b = readFileSync(ev);
  if (tee === 'tdx') return { quote: b.toString('base64'), cc_eventlog: null };
  if (tee === 'cca') return { token: Array.from(b) };
  return { attestation_report: snpReport(b), cert_chain: certChain(readFileSync(aux)) };
}

// ---- HTTP ----
async function http(method, path, { body, cookie, bearer } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (cookie) headers.cookie = `kbs-session-id=${cookie}`;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const r = await fetch(args.kbs + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT),
  });
  const text = await r.text();
  const sc = r.headers.get('set-cookie') ?? '';
  const m = /^kbs-session-id=([^;]+)/.exec(sc);
  return { status: r.status, text, cookie: m ? m[1] : null, setCookie: sc };
}

async function handshake(tee, pubJwk, dir, tamper) {
  const auth = await http('POST', '/kbs/v0/auth', {
    body: { version: '0.4.0', tee, 'extra-params': { 'supported-hash-algorithms': ['sha256', 'sha384', 'sha512'] } },
  });
  check(auth.status === 200, `/auth -> ${auth.status}`);
  check(auth.cookie !== null && /^[0-9a-f]{32}$/.test(auth.cookie), `session cookie (${auth.setCookie})`);
  const ch = JSON.parse(auth.text);
  check(typeof ch.nonce === 'string' && Buffer.from(ch.nonce, 'base64').length === 32 && ch.nonce.length === 44,
    'nonce: 32 bytes, standard base64');
  check(ch['extra-params'] === '', 'challenge extra-params is ""');
  const runtime = { 'additional-evidence': '', nonce: ch.nonce, 'tee-pubkey': pubJwk };
  const digest = createHash('sha384').update(jcs(runtime)).digest();
  const rd = Buffer.concat([digest, Buffer.alloc(16)]);
  if (tamper) rd[0] ^= 1;
  const att = await http('POST', '/kbs/v0/attest', {
    cookie: auth.cookie,
    body: {
      'init-data': null,
      'runtime-data': { nonce: ch.nonce, 'tee-pubkey': pubJwk },
      'tee-evidence': { primary_evidence: evidence(tee, rd.toString('hex'), dir), additional_evidence: '' },
    },
  });
  return { att, cookie: auth.cookie };
}

const dir = mkdtempSync(join(tmpdir(), 'rcar-interop-'));
try {
  const alg = args.key === 'rsa' ? 'RSA-OAEP-256' : 'ECDH-ES+A256KW';
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, args.key === 'rsa' ? { modulusLength: 2048 } : { crv: 'P-256' });
  const pubJwk = { ...(await jose.exportJWK(publicKey)), alg };

  if (args.negative) { // a binding that does not match the key: refused with 401
    const { att } = await handshake(args.tee, pubJwk, dir, true);
    check(att.status === 401, `wrong binding refused -> ${att.status} ${att.text.slice(0, 120)}`);
    const p = JSON.parse(att.text);
    check(/\/errors\/\w+$/.test(p.type ?? '') && typeof p.detail === 'string', 'RFC 7807-style problem body');
  } else {
    const { att, cookie } = await handshake(args.tee, pubJwk, dir, false);
    check(att.status === 200, `/attest -> ${att.status} ${att.status === 200 ? '' : att.text.slice(0, 200)}`);
    const token = JSON.parse(att.text).token;
    const hdr = jose.decodeProtectedHeader(token);
    const claims = jose.decodeJwt(token);
    check(hdr.alg === 'ES256' && hdr.jwk?.crv === 'P-256', 'EAR token: ES256 with the signer jwk in the header');
    await jose.jwtVerify(token, await jose.importJWK(hdr.jwk, 'ES256')).then(
      () => check(true, 'EAR signature verifies (header key)'), (e) => check(false, `EAR signature: ${e.message}`));
    const cpu = claims.submods?.cpu0 ?? {};
    check(cpu['ear.status'] === 'affirming', `EAR cpu0 status ${cpu['ear.status']}`);
    const bound = cpu['ear.veraison.annotated-evidence']?.runtime_data_claims?.['tee-pubkey'];
    check(bound && jcs(bound) === jcs(pubJwk), 'EAR carries our tee-pubkey under runtime_data_claims');

    const r = await http('GET', `/kbs/v0/resource/${args.resource}`,
      args.auth === 'bearer' ? { bearer: token } : { cookie });
    check(r.status === 200, `resource GET (${args.auth}) -> ${r.status} ${r.status === 200 ? '' : r.text.slice(0, 200)}`);
    const jwe = JSON.parse(r.text);
    check(['protected', 'encrypted_key', 'iv', 'ciphertext', 'tag'].every((k) => typeof jwe[k] === 'string') &&
      Object.keys(jwe).length === 5, 'flattened JWE, exactly protected/encrypted_key/iv/ciphertext/tag');
    // The guest re-serialises the protected header (alg, enc, then sorted keys; epk sorted) and uses
    // that as the AAD: the server must have sent exactly that form (§11.2).
    const ph = JSON.parse(Buffer.from(jwe.protected, 'base64url').toString());
    const { alg: a, enc, ...rest } = ph;
    const canon = JSON.stringify({ alg: a, enc, ...JSON.parse(jcs(rest)) });
    check(Buffer.from(jwe.protected, 'base64url').toString() === canon, `protected header in guest order: ${canon.slice(0, 60)}...`);
    check(ph.alg === alg && ph.enc === 'A256GCM', `alg ${ph.alg}, enc ${ph.enc}`);
    const { plaintext } = await jose.flattenedDecrypt(jwe, privateKey);
    const want = readFileSync(args.expect);
    check(Buffer.compare(Buffer.from(plaintext), want) === 0, `secret decrypted with jose (${plaintext.length} bytes)`);
  }
} catch (e) {
  check(false, `exception: ${e.stack ?? e}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failures ? 1 : 0);
