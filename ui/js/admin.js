// Admin requests signed in the page (docs/kbs.md "Admin API", as `veritee admin` signs them):
// a JWT {iat, exp = iat + 60, jti (16 random bytes, hex), sub, htm, htu (the request target: path and query, as sent),
// bsh = base64url(SHA-256(body))} signed through WebCrypto with the admin's key: ES256 for a P-256 key, EdDSA
// (RFC 8037) for an Ed25519 key (WebCrypto's Ed25519: Chromium 137 and later, Firefox 129, Safari 17).
// The private key is imported non-extractable and lives only in this module's variable.

let key = null;
let alg = 'ES256';
let sub = 'console';

const enc = new TextEncoder();

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function pemDer(pem) {
  const m = pem.match(/-----BEGIN ([A-Z ]+)-----([\s\S]+?)-----END \1-----/);
  if (!m) throw new Error('not a PEM private key');
  const bin = atob(m[2].replace(/\s+/g, ''));
  const der = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
  return {label: m[1], der};
}

// DER length and TLV, to wrap a SEC1 ECPrivateKey (RFC 5915) into PKCS#8 (RFC 5208), the
// only private key form WebCrypto imports.
function derLen(n) {
  if (n < 0x80) return [n];
  const b = [];
  while (n > 0) { b.unshift(n & 0xff); n >>= 8; }
  return [0x80 | b.length, ...b];
}
function tlv(tag, bytes) { return [tag, ...derLen(bytes.length), ...bytes]; }
const OID_EC = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

function sec1ToPkcs8(sec1) {
  return new Uint8Array(tlv(0x30, [0x02, 0x01, 0x00, ...tlv(0x30, [...OID_EC, ...OID_P256]), ...tlv(0x04, [...sec1])]));
}

// The PKCS#8 AlgorithmIdentifier of an Ed25519 key (RFC 8410 §7): SEQUENCE { OID 1.3.101.112 }.
const ED25519_ALG = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
function isEd25519(der) {
  // PrivateKeyInfo: SEQUENCE { INTEGER version, AlgorithmIdentifier, ... }; the identifier
  // follows the 3-byte version at offset 2 (short length form, as every Ed25519 key is)
  return der.length > 12 && der[0] === 0x30 && ED25519_ALG.every((b, i) => der[5 + i] === b);
}

export function ed25519Supported() {
  return crypto.subtle.generateKey({name: 'Ed25519'}, false, ['sign']).then(() => true, () => false);
}

// Skips an "EC PARAMETERS" block (openssl ecparam -genkey writes one before the key).
export async function loadKey(pemText, name) {
  const blocks = pemText.match(/-----BEGIN (EC PRIVATE KEY|PRIVATE KEY)-----[\s\S]+?-----END \1-----/);
  if (!blocks) throw new Error('no "EC PRIVATE KEY" or "PRIVATE KEY" PEM block found');
  const {label, der} = pemDer(blocks[0]);
  if (label === 'PRIVATE KEY' && isEd25519(der)) {
    try {
      key = await crypto.subtle.importKey('pkcs8', der, {name: 'Ed25519'}, false, ['sign']);
    } catch (e) {
      if (e.name === 'NotSupportedError') throw new Error('this browser\'s WebCrypto has no Ed25519: use a P-256 admin key');
      throw e;
    }
    alg = 'EdDSA';
  } else {
    const pkcs8 = label === 'EC PRIVATE KEY' ? sec1ToPkcs8(der) : der;
    key = await crypto.subtle.importKey('pkcs8', pkcs8, {name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign']);
    alg = 'ES256';
  }
  sub = name || 'console';
  return alg;
}

export function forgetKey() { key = null; }
export function hasKey() { return key !== null; }

async function token(method, path, body) {
  const h = b64url(enc.encode(JSON.stringify({alg, typ: 'JWT'})));
  const bsh = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', body)));
  const jtiBytes = crypto.getRandomValues(new Uint8Array(16));
  const jti = [...jtiBytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  const iat = Math.floor(Date.now() / 1000);
  const claims = {bsh, exp: iat + 60, htm: method, htu: path, iat, jti, sub};
  const p = b64url(enc.encode(JSON.stringify(claims)));
  // WebCrypto's ECDSA signature is r || s (IEEE P1363), which is what JWS ES256 carries; an
  // Ed25519 signature is the 64 bytes EdDSA JWS carries (RFC 8037 §3.1)
  const params = alg === 'EdDSA' ? {name: 'Ed25519'} : {name: 'ECDSA', hash: 'SHA-256'};
  const sig = new Uint8Array(await crypto.subtle.sign(params, key, enc.encode(`${h}.${p}`)));
  return `${h}.${p}.${b64url(sig)}`;
}

// One signed request. The token binds the whole request target (path and query): a query
// changed in flight (?version=N on revoke) is refused. Returns {status, json}.
export async function adminFetch(method, path, {query, body, type} = {}) {
  if (!key) throw new Error('load the admin key first');
  const bytes = body === undefined ? new Uint8Array(0) : typeof body === 'string' ? enc.encode(body) : body;
  const target = path + (query ? `?${query}` : '');
  const headers = {Authorization: `Bearer ${await token(method, target, bytes)}`};
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  const r = await fetch(target, {method, headers, body: body === undefined ? undefined : bytes,
    cache: 'no-store'});
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = {detail: text}; }
  return {status: r.status, json};
}
