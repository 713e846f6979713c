/* veritee admin: client of the KBS admin API (docs/kbs.md): each request carries a fresh admin
 * JWT (ES256 or Ed25519, 60 s, random jti) bound to its method, target (path and query) and body. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/fileio.h"
#include "veritee/http_get.h"
#include "veritee/kbs.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: veritee admin --kbs URL --key PRIV.pem [--sub NAME] [--cacert FILE] COMMAND\n"
               "  resource put REPO/TYPE/TAG FILE       store FILE as a new version\n"
               "  resource rotate REPO/TYPE/TAG FILE    new version, older versions revoked\n"
               "  resource list | versions PATH | revoke PATH VERSION | delete PATH\n"
               "  policy set-attestation FILE [ID]      attestation policy (docs/policy.md; ID default 'default')\n"
               "  policy set-resource PATH|default FILE resource policy (docs/kbs.md)\n"
               "  policy list-attestation | list-resource\n"
               "  refvals put FILE [ID] | get ID | list reference values (docs/policy.md)\n"
               "exit: 0 ok, 1 refused by the server, 2 usage, 3 server unreachable\n");
}

typedef struct admin_cli {
    const char *kbs, *sub, *cacert;
    EVP_PKEY *key;
} admin_cli;

static int request(admin_cli *a, const char *method, const char *path, const char *query, const uint8_t *body,
                   size_t len, const char *ctype)
{
    vt_error e = {0};
    char *jwt = NULL;
    /* The token binds the whole request target, query included (?version=N on revoke). */
    char target[1024];
    snprintf(target, sizeof target, "%s%s%s", path, query ? "?" : "", query ? query : "");
    if (vt_kbs_admin_token(a->key, method, target, body, len, (vt_time)time(NULL), 60, a->sub, &jwt, &e) != VT_OK) {
        fprintf(stderr, "veritee admin: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    size_t ul = strlen(a->kbs) + strlen(target) + 1;
    char *url = malloc(ul), *auth = malloc(strlen(jwt) + 32);
    if (url == NULL || auth == NULL) {
        free(url);
        free(auth);
        free(jwt);
        return VT_EXIT_USAGE;
    }
    snprintf(url, ul, "%s%s", a->kbs, target);
    sprintf(auth, "Authorization: Bearer %s", jwt);
    const char *hdrs[] = {auth, NULL};
    vt_http_client_req req = {.method = method, .content_type = ctype, .body = body, .body_len = len, .headers = hdrs};
    vt_http_get_opts o = {.check = "kbs", .fail_code = VT_E_IO, .ca_file = a->cacert};
    vt_http_reply r;
    vt_err rc = vt_http_do(url, &req, &o, &r, &e);
    int ret;
    if (rc != VT_OK) {
        fprintf(stderr, "veritee admin: %s\n", e.msg);
        ret = VT_EXIT_MISSING;
    } else if (r.status == 200) {
        if (r.body.len) printf("%s\n", (const char *)r.body.ptr);
        ret = VT_EXIT_OK;
    } else {
        fprintf(stderr, "veritee admin: HTTP %ld: %s\n", r.status, r.body.len ? (const char *)r.body.ptr : "");
        ret = VT_EXIT_REJECTED;
    }
    vt_http_reply_free(&r);
    free(url);
    free(auth);
    free(jwt);
    return ret;
}

static int read_file(const char *path, vt_buf *b)
{
    vt_error e = {0};
    if (vt_file_read(path, 1u << 20, b, &e) != VT_OK) {
        fprintf(stderr, "veritee admin: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* {"<k1>": v1, "<member>": base64(file)} */
static int post_b64(admin_cli *a, const char *path, const char *file, bool url, const char *member, json_t *o)
{
    vt_buf b = {0};
    if (read_file(file, &b) != 0) {
        json_decref(o);
        return VT_EXIT_USAGE;
    }
    char *enc = vt_b64_encode(b.ptr, b.len, url);
    vt_buf_free(&b);
    json_object_set_new(o, member, json_string(enc ? enc : ""));
    free(enc);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc = request(a, "POST", path, NULL, (const uint8_t *)body, strlen(body), "application/json");
    free(body);
    return rc;
}

static int resource(admin_cli *a, int argc, char **argv)
{
    char path[600], q[40];
    if (argc >= 1 && strcmp(argv[0], "list") == 0) return request(a, "GET", "/kbs/v0/admin/resources", NULL, NULL, 0, NULL);
    if (argc < 2) return -1;
    const char *p = argv[1];
    if ((strcmp(argv[0], "put") == 0 || strcmp(argv[0], "rotate") == 0) && argc == 3) {
        vt_buf b = {0};
        if (read_file(argv[2], &b) != 0) return VT_EXIT_USAGE;
        snprintf(path, sizeof path, strcmp(argv[0], "put") == 0 ? "/kbs/v0/resource/%s" : "/kbs/v0/admin/rotate/%s", p);
        int rc = request(a, "POST", path, NULL, b.ptr, b.len, "application/octet-stream");
        vt_buf_free_secret(&b);
        return rc;
    }
    if (strcmp(argv[0], "versions") == 0 && argc == 2) {
        snprintf(path, sizeof path, "/kbs/v0/admin/versions/%s", p);
        return request(a, "GET", path, NULL, NULL, 0, NULL);
    }
    if (strcmp(argv[0], "revoke") == 0 && argc == 3) {
        snprintf(path, sizeof path, "/kbs/v0/admin/revoke/%s", p);
        snprintf(q, sizeof q, "version=%.20s", argv[2]);
        return request(a, "POST", path, q, NULL, 0, NULL);
    }
    if (strcmp(argv[0], "delete") == 0 && argc == 2) {
        snprintf(path, sizeof path, "/kbs/v0/resource/%s", p);
        return request(a, "DELETE", path, NULL, NULL, 0, NULL);
    }
    return -1;
}

static int policy(admin_cli *a, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "list-attestation") == 0)
        return request(a, "GET", "/kbs/v0/attestation-policy", NULL, NULL, 0, NULL);
    if (argc == 1 && strcmp(argv[0], "list-resource") == 0)
        return request(a, "GET", "/kbs/v0/resource-policy", NULL, NULL, 0, NULL);
    if (strcmp(argv[0], "set-attestation") == 0 && (argc == 2 || argc == 3))
        return post_b64(a, "/kbs/v0/attestation-policy", argv[1], true, "policy",
                        json_pack("{ss ss}", "type", "veritee", "policy_id", argc == 3 ? argv[2] : "default"));
    if (strcmp(argv[0], "set-resource") == 0 && argc == 3) {
        json_t *o = strcmp(argv[1], "default") == 0 ? json_object() : json_pack("{ss}", "path", argv[1]);
        return post_b64(a, "/kbs/v0/resource-policy", argv[2], true, "policy", o);
    }
    return -1;
}

static int refvals(admin_cli *a, int argc, char **argv)
{
    char path[300];
    if (argc == 1 && strcmp(argv[0], "list") == 0) return request(a, "GET", "/kbs/v0/reference-value", NULL, NULL, 0, NULL);
    if (argc == 2 && strcmp(argv[0], "get") == 0) {
        snprintf(path, sizeof path, "/kbs/v0/reference-value/%.200s", argv[1]);
        return request(a, "GET", path, NULL, NULL, 0, NULL);
    }
    if (strcmp(argv[0], "put") == 0 && (argc == 2 || argc == 3))
        return post_b64(a, "/kbs/v0/reference-value", argv[1], false, "payload",
                        json_pack("{ss ss ss}", "version", "0.1.0", "type", "veritee", "id", argc == 3 ? argv[2] : "default"));
    return -1;
}

int cmd_admin(int argc, char **argv)
{
    admin_cli a = {.sub = "admin"};
    const char *keyfile = NULL;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--kbs") == 0 && i + 1 < argc) a.kbs = argv[++i];
        else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) keyfile = argv[++i];
        else if (strcmp(argv[i], "--sub") == 0 && i + 1 < argc) a.sub = argv[++i];
        else if (strcmp(argv[i], "--cacert") == 0 && i + 1 < argc) a.cacert = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) { usage(stdout); return VT_EXIT_OK; }
        else break;
    }
    if (a.kbs == NULL || keyfile == NULL || i + 1 >= argc) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    FILE *f = fopen(keyfile, "r");
    a.key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f) fclose(f);
    if (a.key == NULL) {
        fprintf(stderr, "veritee admin: --key %s: not a PEM private key\n", keyfile);
        return VT_EXIT_USAGE;
    }
    size_t kl = strlen(a.kbs);
    char *base = strdup(a.kbs);
    while (base && kl > 0 && base[kl - 1] == '/') base[--kl] = 0; /* URL without a trailing slash */
    a.kbs = base;
    const char *group = argv[i];
    int rc = -1;
    if (strcmp(group, "resource") == 0) rc = resource(&a, argc - i - 1, argv + i + 1);
    else if (strcmp(group, "policy") == 0) rc = policy(&a, argc - i - 1, argv + i + 1);
    else if (strcmp(group, "refvals") == 0) rc = refvals(&a, argc - i - 1, argv + i + 1);
    if (rc < 0) {
        usage(stderr);
        rc = VT_EXIT_USAGE;
    }
    EVP_PKEY_free(a.key);
    free(base);
    return rc;
}
