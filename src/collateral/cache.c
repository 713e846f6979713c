/* The collateral cache inventory (include/veritee/collateral.h): every item under the cache
 * directory with the validity window read from the item itself (TCB Info / QE Identity
 * issueDate..nextUpdate, CRL thisUpdate..nextUpdate, certificate notBefore..notAfter), its
 * state at an instant, and pruning. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collateral_internal.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"
#include "veritee/x509.h"

#define ITEM_MAX (4u << 20)
#define LIST_MAX 4096
#define DEPTH_MAX 6

typedef struct list {
    vt_coll_item *v;
    size_t n, cap;
} list;

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static bool starts_with(const char *s, const char *pre)
{
    return strncmp(s, pre, strlen(pre)) == 0;
}

static void window_of_certs(STACK_OF(X509) *chain, vt_coll_item *it)
{
    it->issued = INT64_MIN;
    it->next_update = INT64_MAX;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        vt_time nb, na;
        if (vt_x509_validity(sk_X509_value(chain, i), &nb, &na, NULL) != VT_OK) {
            it->readable = false;
            return;
        }
        if (nb > it->issued) it->issued = nb;
        if (na < it->next_update) it->next_update = na;
    }
    it->readable = sk_X509_num(chain) > 0;
}

static void read_certs(const vt_buf *b, bool der, vt_coll_item *it)
{
    STACK_OF(X509) *chain = NULL;
    if (der) {
        X509 *c = NULL;
        if (vt_cert_parse(b->ptr, b->len, &c, NULL) == VT_OK) {
            chain = sk_X509_new_null();
            if (chain == NULL || sk_X509_push(chain, c) <= 0) X509_free(c);
            else vt_x509_subject_cn(c, it->id + strlen(it->id), sizeof it->id - strlen(it->id));
        }
    } else if (vt_pem_certs(b->ptr, b->len, &chain, NULL) != VT_OK) {
        chain = NULL;
    }
    if (chain != NULL) window_of_certs(chain, it);
    sk_X509_pop_free(chain, X509_free);
}

static void read_crl(const vt_buf *b, vt_coll_item *it)
{
    X509_CRL *crl = NULL;
    vt_time tu, nu;
    if (vt_crl_parse(b->ptr, b->len, &crl, NULL) == VT_OK && vt_crl_times(crl, &tu, &nu, NULL) == VT_OK) {
        it->issued = tu;
        it->next_update = nu;
        it->readable = true;
        if (it->id[0] == 0) {
            const X509_NAME *iss = X509_CRL_get_issuer(crl);
            char buf[128] = "";
            X509_NAME_get_text_by_NID((X509_NAME *)iss, NID_commonName, buf, sizeof buf);
            snprintf(it->id, sizeof it->id, "%s",
                     strstr(buf, "Processor") ? "processor" : strstr(buf, "Platform") ? "platform" : buf);
        }
    }
    X509_CRL_free(crl);
}

void coll_fmspc_hex(const uint8_t fmspc[6], char out[13])
{
    vt_hex_encode(fmspc, 6, out);
    for (char *p = out; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
}

void coll_item_names(const vt_coll_tdx_want *w, char names[COLL_ITEMS][64])
{
    char fm[13];
    coll_fmspc_hex(w->fmspc, fm);
    snprintf(names[COLL_TCB_INFO], 64, "tcbinfo_%s_%s.json", w->tee, fm);
    snprintf(names[COLL_QE_IDENTITY], 64, "qe_identity_%s.json", strcmp(w->tee, "tdx") == 0 ? "td_qe" : "qe");
    snprintf(names[COLL_PCK_CRL], 64, "pck_crl_%s.der", w->ca);
    snprintf(names[COLL_ROOT_CRL], 64, "root_ca_crl.der");
    snprintf(names[COLL_SIGNING_CHAIN], 64, "tcb_signing_chain.pem");
}

static void read_tdx_item(const char *name, const vt_buf *b, vt_coll_item *it)
{
    snprintf(it->tee, sizeof it->tee, "tdx");
    if (starts_with(name, "tcbinfo") && ends_with(name, ".json")) {
        vt_tcb_info t;
        snprintf(it->kind, sizeof it->kind, "tcb_info");
        if (vt_tcb_info_parse((const char *)b->ptr, b->len, &t, NULL) == VT_OK) {
            snprintf(it->tee, sizeof it->tee, "%s", strcmp(t.id, "SGX") == 0 ? "sgx" : "tdx");
            char fm[13];
            coll_fmspc_hex(t.fmspc, fm);
            snprintf(it->id, sizeof it->id, "%s", fm);
            it->issued = t.issue_date;
            it->next_update = t.next_update;
            it->readable = true;
            vt_tcb_info_clear(&t);
        }
    } else if (starts_with(name, "qe_identity") && ends_with(name, ".json")) {
        vt_qe_identity q;
        snprintf(it->kind, sizeof it->kind, "qe_identity");
        if (vt_qe_identity_parse((const char *)b->ptr, b->len, &q, NULL) == VT_OK) {
            snprintf(it->tee, sizeof it->tee, "%s", strcmp(q.id, "TD_QE") == 0 ? "tdx" : "sgx");
            snprintf(it->id, sizeof it->id, "%s", q.id);
            it->issued = q.issue_date;
            it->next_update = q.next_update;
            it->readable = true;
            vt_qe_identity_clear(&q);
        }
    } else if (strcmp(name, "tcb_signing_chain.pem") == 0) {
        snprintf(it->kind, sizeof it->kind, "tcb_signing_chain");
        snprintf(it->id, sizeof it->id, "TCB Signing");
        read_certs(b, false, it);
    } else if (starts_with(name, "root_ca_crl")) {
        snprintf(it->kind, sizeof it->kind, "root_ca_crl");
        snprintf(it->id, sizeof it->id, "root");
        read_crl(b, it);
    } else if (starts_with(name, "pck_crl") && strstr(name, "issuer") == NULL) {
        snprintf(it->kind, sizeof it->kind, "pck_crl");
        read_crl(b, it);
    } else {
        snprintf(it->kind, sizeof it->kind, "other");
    }
}

/* AMD KDS layout (snp_kds.h): {vcek,vlek}/<Product>/{cert_chain.pem,crl.der} and
 * vcek/<Product>/<hwid>/<spl>/vcek.der. */
static void read_snp_item(const char *rel, const char *name, const vt_buf *b, vt_coll_item *it)
{
    snprintf(it->tee, sizeof it->tee, "snp");
    const char *p = strchr(rel, '/');
    snprintf(it->id, sizeof it->id, "%.*s", p ? (int)(strrchr(rel, '/') - p - 1) : 0, p ? p + 1 : "");
    if (strcmp(name, "cert_chain.pem") == 0) {
        snprintf(it->kind, sizeof it->kind, "cert_chain");
        read_certs(b, false, it);
    } else if (strcmp(name, "crl.der") == 0) {
        snprintf(it->kind, sizeof it->kind, "crl");
        read_crl(b, it);
    } else if (strcmp(name, "vcek.der") == 0) {
        snprintf(it->kind, sizeof it->kind, "vcek");
        read_certs(b, true, it);
        char *slash = strchr(it->id, '/');
        if (slash) *slash = 0; /* Product/<hwid>/<spl>: keep the product and the SPL */
        const char *spl = strrchr(rel, '/');
        size_t l = strlen(it->id);
        if (spl != NULL && spl != rel) {
            const char *q = spl - 1;
            while (q > rel && *q != '/') q--;
            snprintf(it->id + l, sizeof it->id - l, "/%.*s", (int)(spl - q - 1), q + 1);
        }
    } else {
        snprintf(it->kind, sizeof it->kind, "other");
    }
}

static vt_err push(list *l, const vt_coll_item *it, vt_error *err)
{
    if (l->n == LIST_MAX) return vt_error_set(err, VT_E_INVALID, "collateral_cache", "more than %d items in the cache", LIST_MAX);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        vt_coll_item *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *it;
    return VT_OK;
}

static bool is_temporary(const char *name)
{
    return strstr(name, ".tmp.") != NULL || (name[0] == '.' && strstr(name, ".tmp") != NULL);
}

static vt_err walk(const char *root, const char *rel, int depth, list *l, vt_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT && rel[0] == 0) return VT_OK;
        return errno == ENOENT ? VT_OK : vt_error_set(err, VT_E_IO, "collateral_cache", "%s: %s", dir, strerror(errno));
    }
    vt_err rc = VT_OK;
    struct dirent *de;
    while (rc == VT_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char sub[512], path[4608];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= sizeof sub) continue;
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < DEPTH_MAX) rc = walk(root, sub, depth + 1, l, err);
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        vt_coll_item it;
        memset(&it, 0, sizeof it);
        snprintf(it.path, sizeof it.path, "%s", sub);
        it.fetched = (vt_time)st.st_mtime;
        if (is_temporary(de->d_name)) {
            snprintf(it.kind, sizeof it.kind, "temporary");
            rc = push(l, &it, err);
            continue;
        }
        vt_buf b = {0};
        if (vt_file_read(path, ITEM_MAX, &b, NULL) == VT_OK) {
            if (starts_with(sub, VT_COLL_TDX_DIR "/") && strchr(sub + strlen(VT_COLL_TDX_DIR) + 1, '/') == NULL)
                read_tdx_item(de->d_name, &b, &it);
            else if (starts_with(sub, "vcek/") || starts_with(sub, "vlek/"))
                read_snp_item(sub, de->d_name, &b, &it);
            else
                snprintf(it.kind, sizeof it.kind, "other");
        }
        vt_buf_free(&b);
        if (strcmp(it.kind, "other") != 0) rc = push(l, &it, err);
    }
    closedir(d);
    return rc;
}

vt_err coll_item_read(const char *dir, const char *name, vt_coll_item *it)
{
    char path[4096];
    struct stat st;
    memset(it, 0, sizeof *it);
    if (vt_path_join(path, sizeof path, dir, name, NULL) != VT_OK || stat(path, &st) != 0) return VT_E_MISSING;
    vt_buf b = {0};
    if (vt_file_read(path, ITEM_MAX, &b, NULL) != VT_OK) return VT_E_MISSING;
    snprintf(it->path, sizeof it->path, "%s", name);
    it->fetched = (vt_time)st.st_mtime;
    read_tdx_item(name, &b, it);
    vt_buf_free(&b);
    return VT_OK;
}

vt_err coll_item_read_rel(const char *cache_dir, const char *rel, vt_coll_item *it)
{
    char path[4096];
    struct stat st;
    memset(it, 0, sizeof *it);
    if (vt_path_join(path, sizeof path, cache_dir, rel, NULL) != VT_OK || stat(path, &st) != 0) return VT_E_MISSING;
    vt_buf b = {0};
    if (vt_file_read(path, ITEM_MAX, &b, NULL) != VT_OK) return VT_E_MISSING;
    snprintf(it->path, sizeof it->path, "%s", rel);
    it->fetched = (vt_time)st.st_mtime;
    const char *name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    if (starts_with(rel, "vcek/") || starts_with(rel, "vlek/")) read_snp_item(rel, name, &b, it);
    else read_tdx_item(name, &b, it);
    vt_buf_free(&b);
    return VT_OK;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const vt_coll_item *)a)->path, ((const vt_coll_item *)b)->path);
}

vt_err vt_coll_list(const char *cache_dir, vt_coll_item **items, size_t *n, vt_error *err)
{
    list l = {0};
    *items = NULL;
    *n = 0;
    vt_err rc = walk(cache_dir, "", 0, &l, err);
    if (rc != VT_OK) {
        free(l.v);
        return rc;
    }
    if (l.n) qsort(l.v, l.n, sizeof *l.v, by_path);
    *items = l.v;
    *n = l.n;
    return VT_OK;
}

const char *vt_coll_item_state(const vt_coll_item *it, vt_time now, int64_t margin, int64_t interval)
{
    if (!it->readable) return "unreadable";
    if (now > it->next_update) return "expired"; /* usable through nextUpdate itself (RFC 5280) */
    /* an item living less than twice the margin is refreshed at half its life, not always */
    int64_t life = it->next_update - it->issued;
    if (life > 0 && life / 2 < margin) margin = life / 2;
    /* AMD certificates (VCEK, ASK/ASVK/ARK chains) live for years and change only at expiry:
     * only the CRL is re-fetched every interval, as Intel's items are (new revocations, TCB
     * recoveries come without warning) */
    bool dated = !(strcmp(it->tee, "snp") == 0 && strcmp(it->kind, "crl") != 0);
    if (it->next_update - now < margin || (dated && now - it->fetched >= interval)) return "refresh";
    return "valid";
}

json_t *vt_coll_items_json(const vt_coll_item *items, size_t n, vt_time now, int64_t margin, int64_t interval)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        const vt_coll_item *it = &items[i];
        char is[32] = "", nu[32] = "", fe[32] = "";
        if (it->readable) {
            vt_time_format(it->issued, is);
            vt_time_format(it->next_update, nu);
        }
        vt_time_format(it->fetched, fe);
        json_t *o = json_pack("{ss ss ss ss ss ss ss ss}", "tee", it->tee, "kind", it->kind, "id", it->id, "path",
                              it->path, "issued", is, "next_update", nu, "fetched", fe, "state",
                              vt_coll_item_state(it, now, margin, interval));
        if (o != NULL && it->readable) json_object_set_new(o, "expires_in_seconds", json_integer(it->next_update - now));
        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

vt_err vt_coll_prune(const char *cache_dir, vt_time now, int64_t grace, size_t *removed, vt_error *err)
{
    vt_coll_item *items = NULL;
    size_t n = 0, k = 0;
    if (removed) *removed = 0;
    VT_GUARD(vt_coll_list(cache_dir, &items, &n, err));
    vt_err rc = VT_OK;
    for (size_t i = 0; i < n && rc == VT_OK; i++) {
        const vt_coll_item *it = &items[i];
        bool temp = strcmp(it->kind, "temporary") == 0;
        /* a temporary file younger than an hour may belong to a writer at work */
        bool drop = temp ? now - it->fetched > 3600 : !it->readable || now > it->next_update + grace;
        if (!drop) continue;
        char path[4608];
        snprintf(path, sizeof path, "%s/%s", cache_dir, it->path);
        if (unlink(path) != 0 && errno != ENOENT)
            rc = vt_error_set(err, VT_E_IO, "collateral_cache", "cannot remove %s: %s", path, strerror(errno));
        else k++;
    }
    free(items);
    if (removed) *removed = k;
    return rc;
}
