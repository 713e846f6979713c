/* Trust store of CCA platform attestation keys (CPAKs): PEM SubjectPublicKeyInfo, JWK
 * (RFC 7518 6.2), the rust-ccatoken trust-anchor store ({instance-id, implementation-id,
 * pkey}) or a raw SEC1 point; looked up by instance id, then implementation id. */
#include <dirent.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritee/cca.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/json.h"

#define TRUST_FILE_MAX (1u << 20)

void vt_cca_trust_init(vt_cca_trust *t) { memset(t, 0, sizeof *t); }

void vt_cca_trust_free(vt_cca_trust *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->n; i++) EVP_PKEY_free(t->items[i].key);
    free(t->items);
    memset(t, 0, sizeof *t);
}

vt_err vt_cca_trust_add(vt_cca_trust *t, EVP_PKEY *key, const uint8_t *instance_id,
                        size_t instance_id_len, const uint8_t *implementation_id,
                        size_t implementation_id_len, const char *label, vt_error *err)
{
    vt_curve c;
    VT_GUARD(vt_ec_curve_of(key, &c, err));
    if (instance_id_len > 64 || implementation_id_len > 64)
        return vt_error_set(err, VT_E_INVALID, "trust_store", "%s: identifier longer than 64 bytes",
                            label ? label : "CPAK");
    if (t->n >= VT_CCA_TRUST_MAX)
        return vt_error_set(err, VT_E_UNSUPPORTED, "trust_store", "more than %d CPAKs",
                            VT_CCA_TRUST_MAX);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        vt_cca_cpak *ni = realloc(t->items, cap * sizeof *ni);
        if (ni == NULL) return vt_error_set(err, VT_E_NOMEM, "trust_store", "out of memory");
        t->items = ni;
        t->cap = cap;
    }
    if (EVP_PKEY_up_ref(key) != 1)
        return vt_error_set(err, VT_E_INTERNAL, "trust_store", "cannot reference key");
    vt_cca_cpak *k = &t->items[t->n++];
    memset(k, 0, sizeof *k);
    k->key = key;
    if (instance_id_len) memcpy(k->instance_id, instance_id, instance_id_len);
    k->instance_id_len = instance_id_len;
    if (implementation_id_len) memcpy(k->implementation_id, implementation_id, implementation_id_len);
    k->implementation_id_len = implementation_id_len;
    snprintf(k->label, sizeof k->label, "%s", label ? label : "CPAK");
    return VT_OK;
}

static vt_err jwk_to_pkey(const json_t *jwk, const char *label, EVP_PKEY **out, vt_error *err)
{
    const char *kty, *crv, *xs, *ys;
    VT_GUARD(vt_json_str(jwk, "kty", label, &kty, err));
    VT_GUARD(vt_json_str(jwk, "crv", label, &crv, err));
    if (strcmp(kty, "EC") != 0)
        return vt_error_set(err, VT_E_UNSUPPORTED, "trust_store", "%s: JWK key type '%s' is not EC",
                            label, kty);
    if (json_object_get(jwk, "d") != NULL)
        return vt_error_set(err, VT_E_INVALID, "trust_store",
                            "%s: JWK holds a private key ('d'); give the public key only", label);
    vt_curve c;
    if (strcmp(crv, "P-256") == 0) c = VT_P256;
    else if (strcmp(crv, "P-384") == 0) c = VT_P384;
    else if (strcmp(crv, "P-521") == 0) c = VT_P521;
    else return vt_error_set(err, VT_E_UNSUPPORTED, "trust_store", "%s: JWK curve '%s'", label, crv);
    VT_GUARD(vt_json_str(jwk, "x", label, &xs, err));
    VT_GUARD(vt_json_str(jwk, "y", label, &ys, err));
    vt_buf x = {0}, y = {0};
    uint8_t xy[2 * 66];
    size_t fl = vt_curve_len(c);
    vt_err rc = vt_b64_decode(xs, strlen(xs), &x, err);
    if (rc == VT_OK) rc = vt_b64_decode(ys, strlen(ys), &y, err);
    if (rc == VT_OK && (x.len != fl || y.len != fl))
        rc = vt_error_set(err, VT_E_INVALID, "trust_store",
                          "%s: JWK coordinates are %zu and %zu bytes, %s needs %zu", label, x.len,
                          y.len, crv, fl);
    if (rc == VT_OK) {
        memcpy(xy, x.ptr, fl);
        memcpy(xy + fl, y.ptr, fl);
        rc = vt_ec_pub_from_xy(c, xy, 2 * fl, out, err);
        if (rc != VT_OK)
            rc = vt_error_set(err, VT_E_INVALID, "trust_store",
                              "%s: JWK public key is not a valid point on %s", label, crv);
    }
    vt_buf_free(&x);
    vt_buf_free(&y);
    return rc;
}

static vt_err hex_id(const json_t *o, const char *key, const char *label, uint8_t *out,
                     size_t *len, vt_error *err)
{
    const json_t *v = json_object_get(o, key);
    *len = 0;
    if (v == NULL) return VT_OK;
    if (!json_is_string(v))
        return vt_error_set(err, VT_E_INVALID, "trust_store", "%s.%s: expected a hex string", label, key);
    vt_buf b = {0};
    VT_GUARD(vt_hex_decode(json_string_value(v), json_string_length(v), &b, err));
    if (b.len == 0 || b.len > 64) {
        size_t n = b.len;
        vt_buf_free(&b);
        return vt_error_set(err, VT_E_INVALID, "trust_store", "%s.%s: %zu bytes (1..64)", label,
                            key, n);
    }
    memcpy(out, b.ptr, b.len);
    *len = b.len;
    vt_buf_free(&b);
    return VT_OK;
}

/* One JSON object: a bare JWK, or {instance-id?, implementation-id?, pkey: JWK}. */
static vt_err load_json_entry(vt_cca_trust *t, const json_t *o, const char *label, vt_error *err)
{
    if (!json_is_object(o))
        return vt_error_set(err, VT_E_INVALID, "trust_store", "%s: expected a JSON object", label);
    uint8_t inst[64], impl[64];
    size_t il = 0, ml = 0;
    const json_t *jwk = json_object_get(o, "pkey");
    if (jwk == NULL) {
        jwk = o;
    } else {
        VT_GUARD(hex_id(o, "instance-id", label, inst, &il, err));
        VT_GUARD(hex_id(o, "implementation-id", label, impl, &ml, err));
    }
    EVP_PKEY *k = NULL;
    VT_GUARD(jwk_to_pkey(jwk, label, &k, err));
    vt_err rc = vt_cca_trust_add(t, k, inst, il, impl, ml, label, err);
    EVP_PKEY_free(k);
    if (rc == VT_OK) t->items[t->n - 1].emulated = json_is_true(json_object_get(o, "emulated"));
    return rc;
}

static vt_err load_json(vt_cca_trust *t, const uint8_t *buf, size_t len, const char *label,
                        vt_error *err)
{
    json_t *j = NULL;
    vt_err rc = vt_json_parse((const char *)buf, len, &j, err);
    if (rc != VT_OK) return vt_error_wrap(err, "%s", label);
    if (json_is_array(j)) {
        if (json_array_size(j) == 0)
            rc = vt_error_set(err, VT_E_INVALID, "trust_store", "%s: empty trust-anchor store", label);
        for (size_t i = 0; rc == VT_OK && i < json_array_size(j); i++) {
            char l[128];
            snprintf(l, sizeof l, "%s[%zu]", label, i);
            rc = load_json_entry(t, json_array_get(j, i), l, err);
        }
    } else {
        rc = load_json_entry(t, j, label, err);
    }
    json_decref(j);
    return rc;
}

static vt_err load_pem(vt_cca_trust *t, const uint8_t *buf, size_t len, const char *label,
                       vt_error *err)
{
    if (len > TRUST_FILE_MAX) return vt_error_set(err, VT_E_INVALID, "trust_store", "%s: too large", label);
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    if (bio == NULL) return vt_error_set(err, VT_E_NOMEM, "trust_store", "out of memory");
    vt_err rc = VT_OK;
    size_t count = 0;
    EVP_PKEY *k;
    while (rc == VT_OK && (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) != NULL) {
        char l[128];
        if (count == 0) snprintf(l, sizeof l, "%s", label);
        else snprintf(l, sizeof l, "%s#%zu", label, count);
        rc = vt_cca_trust_add(t, k, NULL, 0, NULL, 0, l, err);
        EVP_PKEY_free(k);
        count++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (rc == VT_OK && count == 0)
        rc = vt_error_set(err, VT_E_INVALID, "trust_store",
                          "%s: no usable PUBLIC KEY in the PEM text (bad encoding or point not on "
                          "its curve)", label);
    return rc;
}

vt_err vt_cca_trust_load_mem(vt_cca_trust *t, const uint8_t *buf, size_t len, const char *label,
                             vt_error *err)
{
    const char *l = label ? label : "CPAK";
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
    if (len - i >= 10 && memcmp(buf + i, "-----BEGIN", 10) == 0) return load_pem(t, buf, len, l, err);
    if (i < len && (buf[i] == '{' || buf[i] == '[')) return load_json(t, buf, len, l, err);
    if ((len == 65 || len == 97 || len == 133) && buf[0] == 0x04) {
        vt_curve c = len == 65 ? VT_P256 : len == 97 ? VT_P384 : VT_P521;
        EVP_PKEY *k = NULL;
        if (vt_ec_pub_from_xy(c, buf + 1, len - 1, &k, err) != VT_OK)
            return vt_error_set(err, VT_E_INVALID, "trust_store",
                                "%s: raw EC point is not on its curve", l);
        vt_err rc = vt_cca_trust_add(t, k, NULL, 0, NULL, 0, l, err);
        EVP_PKEY_free(k);
        return rc;
    }
    return vt_error_set(err, VT_E_INVALID, "trust_store",
                        "%s: not a PEM public key, a JWK, a trust-anchor store or a raw EC point", l);
}

vt_err vt_cca_trust_load_file(vt_cca_trust *t, const char *path, vt_error *err)
{
    vt_buf b = {0};
    VT_GUARD(vt_file_read(path, TRUST_FILE_MAX, &b, err));
    const char *base = strrchr(path, '/');
    vt_err rc = vt_cca_trust_load_mem(t, b.ptr, b.len, base ? base + 1 : path, err);
    vt_buf_free(&b);
    return rc;
}

static bool wanted(const char *name)
{
    static const char *const ext[] = {".pem", ".jwk", ".json", ".bin"};
    size_t n = strlen(name);
    for (size_t i = 0; i < 4; i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcmp(name + n - e, ext[i]) == 0) return true;
    }
    return false;
}

static bool contains(const uint8_t *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(p + i, s, l) == 0) return true;
    return false;
}

/* A PEM file with certificates and no PUBLIC KEY block: another TEE's root in a shared dir. */
static bool certificates_only(const char *dir, const char *name)
{
    char path[4096];
    vt_buf b = {0};
    vt_error e;
    bool skip = false;
    if (vt_path_join(path, sizeof path, dir, name, &e) == VT_OK && vt_file_read(path, TRUST_FILE_MAX, &b, &e) == VT_OK)
        skip = contains(b.ptr, b.len, "-----BEGIN CERTIFICATE-----") &&
               !contains(b.ptr, b.len, "-----BEGIN PUBLIC KEY-----");
    vt_buf_free(&b);
    return skip;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void note_skipped(vt_cca_trust *t, const char *name, const vt_error *why)
{
    size_t l = strlen(t->skipped);
    if (l < sizeof t->skipped - 1)
        snprintf(t->skipped + l, sizeof t->skipped - l, "%s%s: %s", l ? "; " : "", name, why->msg);
    t->nskipped++;
}

vt_err vt_cca_trust_load_dir(vt_cca_trust *t, const char *dir, vt_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISREG(st.st_mode)) return vt_cca_trust_load_file(t, dir, err);
    DIR *d = opendir(dir);
    if (d == NULL)
        return vt_error_set(err, VT_E_MISSING, "trust_store", "cannot open trust directory %s", dir);
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    vt_err rc = VT_OK;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !wanted(de->d_name) || certificates_only(dir, de->d_name)) continue;
        if (n == sizeof names / sizeof names[0]) {
            rc = vt_error_set(err, VT_E_UNSUPPORTED, "trust_store", "%s: more than %zu key files",
                              dir, n);
            break;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            rc = vt_error_set(err, VT_E_NOMEM, "trust_store", "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == VT_OK && n == 0)
        rc = vt_error_set(err, VT_E_MISSING, "trust_store",
                          "no CPAK files (*.pem, *.jwk, *.json, *.bin) in %s", dir);
    qsort(names, n, sizeof names[0], cmp_str);
    size_t before = t->n, skipped_before = t->nskipped;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        if (rc == VT_OK) rc = vt_path_join(path, sizeof path, dir, names[i], err);
        if (rc == VT_OK) {
            vt_error why;
            vt_error_clear(&why);
            vt_err fr = vt_cca_trust_load_file(t, path, &why);
            if (fr == VT_E_NOMEM || fr == VT_E_INTERNAL) rc = vt_error_set(err, fr, why.check, "%s", why.msg);
            else if (fr != VT_OK) note_skipped(t, names[i], &why);
        }
        free(names[i]);
    }
    if (rc == VT_OK && n > 0 && t->n == before)
        rc = vt_error_set(err, VT_E_MISSING, "trust_store", "no usable CPAK in %s (%zu file%s skipped: %s)", dir,
                          t->nskipped - skipped_before, t->nskipped - skipped_before == 1 ? "" : "s", t->skipped);
    return rc;
}

static bool id_eq(const uint8_t *a, size_t al, vt_bytes b)
{
    return al == b.len && al > 0 && memcmp(a, b.ptr, al) == 0;
}

size_t vt_cca_trust_find(const vt_cca_trust *t, vt_bytes instance_id, vt_bytes implementation_id,
                         const vt_cca_cpak **out, size_t max)
{
    size_t n = 0;
    for (int rank = 0; rank < 3; rank++) {
        for (size_t i = 0; i < t->n && n < max; i++) {
            const vt_cca_cpak *k = &t->items[i];
            bool inst_ok = k->instance_id_len == 0 || id_eq(k->instance_id, k->instance_id_len, instance_id);
            bool impl_ok = k->implementation_id_len == 0 ||
                           id_eq(k->implementation_id, k->implementation_id_len, implementation_id);
            if (!inst_ok || !impl_ok) continue;
            int r = k->instance_id_len ? 0 : k->implementation_id_len ? 1 : 2;
            if (r == rank) out[n++] = k;
        }
    }
    return n;
}
