/* Init-data (kbs-protocol.md §7.4): the TOML document {version, algorithm, [data]} is hashed as
 * raw bytes with its own algorithm; its [data] strings become init_data_claims. A deliberately
 * small TOML subset: bare or quoted keys, basic/literal strings (single and multi-line). */
#include <stdlib.h>
#include <string.h>

#include "veritee/crypto.h"
#include "veritee/rcar.h"

#define INITDATA_MAX (256u << 10)

typedef struct cur {
    const char *p;
    size_t n, i;
} cur;

static int peek(const cur *c, size_t off)
{
    return c->i + off < c->n ? (unsigned char)c->p[c->i + off] : -1;
}

static void skip_ws(cur *c)
{
    while (peek(c, 0) == ' ' || peek(c, 0) == '\t') c->i++;
}

static bool starts(const cur *c, const char *s)
{
    size_t l = strlen(s);
    return c->n - c->i >= l && memcmp(c->p + c->i, s, l) == 0;
}

/* Reads a string value into a new JSON string. */
static vt_err read_string(cur *c, json_t **out, vt_error *err)
{
    char q = (char)peek(c, 0);
    bool multi = starts(c, q == '\'' ? "'''" : "\"\"\"");
    bool literal = q == '\'';
    char *buf = malloc(c->n - c->i + 1);
    size_t o = 0;
    if (buf == NULL) return vt_error_set(err, VT_E_NOMEM, "init-data", "out of memory");
    c->i += multi ? 3 : 1;
    if (multi && peek(c, 0) == '\n') c->i++; /* a newline right after the opener is trimmed */
    else if (multi && peek(c, 0) == '\r' && peek(c, 1) == '\n') c->i += 2;
    for (;;) {
        int ch = peek(c, 0);
        if (ch < 0) {
            free(buf);
            return vt_error_set(err, VT_E_INVALID, "init-data", "unterminated string in init-data TOML");
        }
        if (multi ? starts(c, literal ? "'''" : "\"\"\"") : ch == q) {
            c->i += multi ? 3 : 1;
            break;
        }
        if (!multi && ch == '\n') {
            free(buf);
            return vt_error_set(err, VT_E_INVALID, "init-data", "newline in a single-line TOML string");
        }
        if (!literal && ch == '\\') {
            int e = peek(c, 1);
            c->i += 2;
            switch (e) {
            case 'n': buf[o++] = '\n'; break;
            case 't': buf[o++] = '\t'; break;
            case 'r': buf[o++] = '\r'; break;
            case '"': buf[o++] = '"'; break;
            case '\\': buf[o++] = '\\'; break;
            case '\n':
                if (multi) {
                    while (peek(c, 0) == ' ' || peek(c, 0) == '\t' || peek(c, 0) == '\n' || peek(c, 0) == '\r') c->i++;
                    break;
                }
                /* fall through */
            default:
                free(buf);
                return vt_error_set(err, VT_E_UNSUPPORTED, "init-data", "unsupported escape in init-data TOML");
            }
            continue;
        }
        buf[o++] = (char)ch;
        c->i++;
    }
    *out = json_stringn(buf, o);
    free(buf);
    if (*out == NULL) return vt_error_set(err, VT_E_INVALID, "init-data", "init-data string is not valid UTF-8");
    return VT_OK;
}

static bool bare(int ch)
{
    return ch == '_' || ch == '-' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static vt_err read_key(cur *c, char *key, size_t cap, vt_error *err)
{
    size_t o = 0;
    if (peek(c, 0) == '"' || peek(c, 0) == '\'') {
        if (starts(c, "'''") || starts(c, "\"\"\""))
            return vt_error_set(err, VT_E_INVALID, "init-data", "multi-line key in init-data TOML");
        json_t *s = NULL;
        VT_GUARD(read_string(c, &s, err));
        size_t l = json_string_length(s);
        if (l == 0 || l >= cap || memchr(json_string_value(s), 0, l)) {
            json_decref(s);
            return vt_error_set(err, VT_E_INVALID, "init-data", "bad key in init-data TOML");
        }
        memcpy(key, json_string_value(s), l + 1);
        json_decref(s);
        return VT_OK;
    }
    while (bare(peek(c, 0)) && o + 1 < cap) key[o++] = (char)c->p[c->i++];
    key[o] = 0;
    if (o == 0 || bare(peek(c, 0))) return vt_error_set(err, VT_E_INVALID, "init-data", "bad key in init-data TOML");
    return VT_OK;
}

static vt_err parse(const char *toml, size_t len, char *alg, size_t algcap, json_t *data, vt_error *err)
{
    cur c = {toml, len, 0};
    int table = 0; /* 0 top level, 1 [data], 2 another table (ignored) */
    char key[256];
    while (c.i < c.n) {
        skip_ws(&c);
        int ch = peek(&c, 0);
        if (ch == '\n' || ch == '\r') { c.i++; continue; }
        if (ch == '#') { while (peek(&c, 0) >= 0 && peek(&c, 0) != '\n') c.i++; continue; }
        if (ch == '[') {
            c.i++;
            skip_ws(&c);
            VT_GUARD(read_key(&c, key, sizeof key, err));
            skip_ws(&c);
            if (peek(&c, 0) != ']') return vt_error_set(err, VT_E_INVALID, "init-data", "bad table header in init-data TOML");
            c.i++;
            table = strcmp(key, "data") == 0 ? 1 : 2;
            continue;
        }
        VT_GUARD(read_key(&c, key, sizeof key, err));
        skip_ws(&c);
        if (peek(&c, 0) != '=') return vt_error_set(err, VT_E_INVALID, "init-data", "expected '=' after key '%.40s'", key);
        c.i++;
        skip_ws(&c);
        json_t *v = NULL;
        if (peek(&c, 0) == '"' || peek(&c, 0) == '\'') {
            VT_GUARD(read_string(&c, &v, err));
        } else {
            size_t s = c.i; /* a bare value (number, boolean): kept as its text */
            while (peek(&c, 0) >= 0 && peek(&c, 0) != '\n' && peek(&c, 0) != '#') c.i++;
            size_t e = c.i;
            while (e > s && (toml[e - 1] == ' ' || toml[e - 1] == '\t' || toml[e - 1] == '\r')) e--;
            if (e == s) return vt_error_set(err, VT_E_INVALID, "init-data", "missing value for '%.40s'", key);
            v = json_stringn(toml + s, e - s);
            if (v == NULL) return vt_error_set(err, VT_E_INVALID, "init-data", "bad value for '%.40s'", key);
        }
        if (table == 0 && strcmp(key, "algorithm") == 0) snprintf(alg, algcap, "%s", json_string_value(v));
        if (table == 1 && json_object_get(data, key) != NULL) {
            json_decref(v);
            return vt_error_set(err, VT_E_INVALID, "init-data", "duplicate key '%.40s' in init-data", key);
        }
        if (table == 1) json_object_set_new(data, key, v);
        else json_decref(v);
        skip_ws(&c);
        if (peek(&c, 0) == '#') while (peek(&c, 0) >= 0 && peek(&c, 0) != '\n') c.i++;
        if (peek(&c, 0) == '\r') c.i++;
        if (peek(&c, 0) >= 0 && peek(&c, 0) != '\n')
            return vt_error_set(err, VT_E_INVALID, "init-data", "trailing characters after '%.40s'", key);
    }
    return VT_OK;
}

vt_err vt_rcar_initdata_digest(const char *toml, size_t len, uint8_t digest[64], size_t *dlen,
                              json_t **data, vt_error *err)
{
    if (data) *data = NULL;
    *dlen = 0;
    if (len > INITDATA_MAX) return vt_error_set(err, VT_E_INVALID, "init-data", "init-data larger than 256 KiB");
    char alg[16] = "";
    json_t *d = json_object();
    if (d == NULL) return vt_error_set(err, VT_E_NOMEM, "init-data", "out of memory");
    vt_err rc = parse(toml, len, alg, sizeof alg, d, err);
    if (rc != VT_OK) {
        json_decref(d);
        return rc;
    }
    vt_hash_alg h;
    if (strcmp(alg, "sha256") == 0) h = VT_SHA256;
    else if (strcmp(alg, "sha384") == 0) h = VT_SHA384;
    else if (strcmp(alg, "sha512") == 0) h = VT_SHA512;
    else {
        json_decref(d);
        return vt_error_set(err, VT_E_UNSUPPORTED, "init-data", "init-data algorithm '%.16s' not supported (sha256, sha384, sha512)", alg);
    }
    memset(digest, 0, 64);
    rc = vt_hash(h, toml, len, digest, err);
    if (rc != VT_OK) {
        json_decref(d);
        return rc;
    }
    *dlen = vt_hash_len(h);
    if (data) *data = d;
    else json_decref(d);
    return VT_OK;
}
