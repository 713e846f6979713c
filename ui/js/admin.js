// Admin requests signed in the page (docs/kbs.md "Admin API", as `veritee admin` signs them):
// a JWT {iat, exp = iat + 60, jti (16 random bytes, hex), sub, htm, htu (the request target: path and query, as sent),
// bsh = base64url(SHA-256(body))} signed ES256 with the admin's P-256 key through WebCrypto.
// The private key is imported non-extractable and lives only in this module's variable.

let key = null;
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

// Skips an "EC PARAMETERS" block (openssl ecparam -genkey writes one before the key).
export async function loadKey(pemText, name) {
  const blocks = pemText.match(/-----BEGIN (EC PRIVATE KEY|PRIVATE KEY)-----[\s\S]+?-----END \1-----/);
  if (!blocks) throw new Error('no "EC PRIVATE KEY" or "PRIVATE KEY" PEM block found');
  const {label, der} = pemDer(blocks[0]);
  const pkcs8 = label === 'EC PRIVATE KEY' ? sec1ToPkcs8(der) : der;
  key = await crypto.subtle.importKey('pkcs8', pkcs8, {name: 'ECDSA', namedCurve: 'P-256'}, false, ['sign']);
  sub = name || 'console';
}

export function forgetKey() { key = null; }
export function hasKey() { return key !== null; }

async function token(method, path, body) {
  const h = b64url(enc.encode(JSON.stringify({alg: 'ES256', typ: 'JWT'})));
  const bsh = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', body)));
  const jtiBytes = crypto.getRandomValues(new Uint8Array(16));
  const jti = [...jtiBytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  const iat = Math.floor(Date.now() / 1000);
  const claims = {bsh, exp: iat + 60, htm: method, htu: path, iat, jti, sub};
  const p = b64url(enc.encode(JSON.stringify(claims)));
  // WebCrypto's ECDSA signature is r || s (IEEE P1363), which is what JWS ES256 carries
  const sig = new Uint8Array(await crypto.subtle.sign({name: 'ECDSA', hash: 'SHA-256'}, key, enc.encode(`${h}.${p}`)));
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
