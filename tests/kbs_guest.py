#!/usr/bin/env python3
"""Guest-side helpers for tests/cli_kbs.sh, written from kbs-protocol.md alone (not from the
server code): TEE key generation, the runtime-data binding (JCS + SHA-384), the Attestation body
with per-TEE evidence shapes, and JWE decryption (ECDH-ES+A256KW / RSA-OAEP-256, A256GCM)."""
import base64, hashlib, json, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def ub64u(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def jcs(v): return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def keygen(kind, out):
    if kind == "ec":
        k = ec.generate_private_key(ec.SECP256R1())
        n = k.public_key().public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
               "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}
    else:
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = k.public_key().public_numbers()
        jwk = {"kty": "RSA", "alg": "RSA-OAEP-256", "n": b64u(n.n.to_bytes(256, "big")), "e": b64u(n.e.to_bytes(3, "big"))}
    open(out + ".pem", "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    open(out + ".jwk", "w").write(json.dumps(jwk))

def binding(nonce, jwkfile):
    jwk = json.load(open(jwkfile))
    d = hashlib.sha384(jcs({"additional-evidence": "", "nonce": nonce, "tee-pubkey": jwk})).digest()
    print((d + bytes(16)).hex())

def snp_serde(raw):
    r = raw[:1184]
    le = lambda o, n: int.from_bytes(r[o:o + n], "little")
    arr = lambda o, n: list(r[o:o + n])
    ver = r[0]
    turin = ver >= 3 and r[0x188] == 0x1A
    def tcb(o):
        b = r[o:o + 8]
        if turin: return {"fmc": b[0], "bootloader": b[1], "tee": b[2], "snp": b[3], "microcode": b[7]}
        return {"fmc": None, "bootloader": b[0], "tee": b[1], "snp": b[6], "microcode": b[7]}
    rep = {"version": le(0, 4), "guest_svn": le(4, 4), "policy": le(8, 8), "family_id": arr(0x10, 16),
           "image_id": arr(0x20, 16), "vmpl": le(0x30, 4), "sig_algo": le(0x34, 4), "current_tcb": tcb(0x38),
           "plat_info": le(0x40, 8), "key_info": le(0x48, 4), "report_data": arr(0x50, 64),
           "measurement": arr(0x90, 48), "host_data": arr(0xC0, 32), "id_key_digest": arr(0xE0, 48),
           "author_key_digest": arr(0x110, 48), "report_id": arr(0x140, 32), "report_id_ma": arr(0x160, 32),
           "reported_tcb": tcb(0x180),
           "cpuid_fam_id": r[0x188] if ver >= 3 else None, "cpuid_mod_id": r[0x189] if ver >= 3 else None,
           "cpuid_step": r[0x18A] if ver >= 3 else None, "chip_id": arr(0x1A0, 64), "committed_tcb": tcb(0x1E0),
           "current": {"major": r[0x1EA], "minor": r[0x1E9], "build": r[0x1E8]},
           "committed": {"major": r[0x1EE], "minor": r[0x1ED], "build": r[0x1EC]}, "launch_tcb": tcb(0x1F0),
           "launch_mit_vector": le(0x1F8, 8) if ver >= 5 else None,
           "current_mit_vector": le(0x200, 8) if ver >= 5 else None,
           "signature": {"r": arr(0x2A0, 72), "s": arr(0x2E8, 72)}}
    return {"attestation_report": rep, "cert_chain": None}

def attestation(tee, nonce, jwkfile, evfile, initdata=None):
    ev = open(evfile, "rb").read()
    if tee == "tdx": prim = {"quote": base64.b64encode(ev).decode(), "cc_eventlog": None}
    elif tee == "snp": prim = snp_serde(ev)
    elif tee == "cca": prim = {"token": list(ev)}
    else: raise SystemExit("tee?")
    body = {"init-data": None if initdata is None else {"format": "toml", "body": open(initdata).read()},
            "runtime-data": {"nonce": nonce, "tee-pubkey": json.load(open(jwkfile))},
            "tee-evidence": {"primary_evidence": prim, "additional_evidence": ""}}
    print(json.dumps(body))

def decrypt(keyfile, jwefile):
    k = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
    j = json.load(open(jwefile))
    assert set(j) == {"protected", "encrypted_key", "iv", "ciphertext", "tag"}, j.keys()
    h = json.loads(ub64u(j["protected"]))
    assert h["enc"] == "A256GCM"
    if h["alg"] == "ECDH-ES+A256KW":
        epk = h["epk"]
        # the guest re-serialises the header: alg, enc, then the rest sorted (kbs-protocol.md §11.2)
        rest = {kk: h[kk] for kk in sorted(h) if kk not in ("alg", "enc")}
        canon = json.dumps({"alg": h["alg"], "enc": h["enc"], **{kk: (dict(sorted(v.items())) if isinstance(v, dict) else v)
                            for kk, v in rest.items()}}, separators=(",", ":")).encode()
        assert b64u(canon) == j["protected"], "protected header not in canonical order"
        pub = ec.EllipticCurvePublicNumbers(int.from_bytes(ub64u(epk["x"]), "big"), int.from_bytes(ub64u(epk["y"]), "big"),
                                            ec.SECP256R1()).public_key()
        z = k.exchange(ec.ECDH(), pub)
        alg = b"ECDH-ES+A256KW"
        kek = hashlib.sha256(b"\0\0\0\1" + z + struct.pack(">I", len(alg)) + alg + bytes(8) + struct.pack(">I", 256)).digest()
        cek = aes_key_unwrap(kek, ub64u(j["encrypted_key"]))
    elif h["alg"] == "RSA-OAEP-256":
        cek = k.decrypt(ub64u(j["encrypted_key"]), padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    else:
        raise SystemExit("alg " + h["alg"])
    pt = AESGCM(cek).decrypt(ub64u(j["iv"]), ub64u(j["ciphertext"]) + ub64u(j["tag"]), j["protected"].encode())
    sys.stdout.buffer.write(pt)

if __name__ == "__main__":
    c = sys.argv[1]
    if c == "keygen": keygen(sys.argv[2], sys.argv[3])
    elif c == "binding": binding(sys.argv[2], sys.argv[3])
    elif c == "attestation": attestation(*sys.argv[2:])
    elif c == "decrypt": decrypt(sys.argv[2], sys.argv[3])
