/* Collateral fetch (vt_coll_tdx_fetch) against a loopback server written here in C that answers
 * like Intel PCS v4 (bodies and URL-encoded issuer-chain headers from a vector set, the root CA
 * CRL as DER), then verification from the cache. The fake PCCS of the other collateral tests is
 * an independent implementation in python (tests/fixtures/fake_pcs.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/fileio.h"
#include "veritee/tdx.h"
#include "veritee/collateral.h"

#define SET "tdx/dcapqvl_tdx_v4_b0c06f"

typedef struct server {
    int fd;
    int port;
    int requests;
    char seen[8][160];
} server;

static void load(const char *name, vt_buf *b)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", SET, name);
    vt_test_load(rel, b);
}

static char *urlenc(const vt_buf *b)
{
    char *o = malloc(b->len * 3 + 1), *q = o;
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = b->ptr[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')
            *q++ = (char)c;
        else q += sprintf(q, "%%%02X", c);
    }
    *q = 0;
    return o;
}

static void respond(int c, const char *path)
{
    const char *file = NULL, *hdr = NULL, *chain = NULL;
    if (strncasecmp(path, "/tdx/certification/v4/tcb?fmspc=b0c06f000000", 45) == 0)
        file = "tcbinfo_b0c06f000000.json", hdr = "TCB-Info-Issuer-Chain", chain = "tcb_signing_chain.pem";
    else if (strcmp(path, "/tdx/certification/v4/qe/identity") == 0)
        file = "qe_identity.json", hdr = "SGX-Enclave-Identity-Issuer-Chain", chain = "tcb_signing_chain.pem";
    else if (strcmp(path, "/sgx/certification/v4/pckcrl?ca=platform&encoding=der") == 0)
        file = "pck_crl.der", hdr = "SGX-PCK-CRL-Issuer-Chain", chain = "pck_crl_issuer_chain.pem";
    else if (strcmp(path, "/sgx/certification/v4/rootcacrl") == 0)
        file = "root_ca_crl.der";
    char head[16384];
    if (file == NULL) {
        int n = snprintf(head, sizeof head, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        (void)!write(c, head, (size_t)n);
        return;
    }
    vt_buf body = {0}, ch = {0};
    load(file, &body);
    char *enc = NULL;
    if (chain != NULL) {
        load(chain, &ch);
        enc = urlenc(&ch);
    }
    int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s\r\n",
                     body.len, hdr ? hdr : "", hdr ? ": " : "", hdr ? enc : "");
    if (hdr) n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    (void)!write(c, head, (size_t)n);
    (void)!write(c, body.ptr, body.len);
    free(enc);
    vt_buf_free(&body);
    vt_buf_free(&ch);
}

static void *serve(void *arg)
{
    server *s = arg;
    for (int i = 0; i < 8; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char req[2048];
        ssize_t got = read(c, req, sizeof req - 1);
        if (got > 0) {
            req[got] = 0;
            char path[160] = "";
            sscanf(req, "GET %159s", path);
            snprintf(s->seen[s->requests++ % 8], sizeof s->seen[0], "%s", path);
            respond(c, path);
        }
        close(c);
    }
    return NULL;
}

static void test_fetch_then_verify(void **state)
{
    (void)state;
    vt_buf quote = {0};
    load("quote.bin", &quote);
    server s = {0};
    s.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(s.fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s.fd, 8), 0);
    getsockname(s.fd, (struct sockaddr *)&a, &al);
    s.port = ntohs(a.sin_port);
    pthread_t th;
    pthread_create(&th, NULL, serve, &s);

    char dir[256], url[64];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s.port);
    vt_coll_pcs o = {.base_url = url, .pccs = true, .timeout_seconds = 5};
    vt_coll_tdx_want w;
    vt_error e;
    vt_time at;
    assert_int_equal(vt_time_parse_rfc3339("2025-07-19T10:00:34Z", &at, NULL), VT_OK);
    assert_int_equal(vt_coll_tdx_want_from_quote(quote.ptr, quote.len, &w, &e), VT_OK);
    assert_string_equal(w.tee, "tdx");
    assert_string_equal(w.ca, "platform");
    vt_coll_report rep;
    vt_err rc = vt_coll_tdx_fetch(&o, dir, &w, at, VT_COLL_DEFAULT_MARGIN, VT_COLL_DEFAULT_INTERVAL, false, &rep, &e);
    if (rc != VT_OK) fail_msg("fetch: %s", e.msg);
    assert_int_equal(s.requests, 4);
    assert_int_equal(rep.installed, 5); /* four items and the TCB signing chain */
    /* a second fetch a minute earlier, no refresh margin: the cache is fresh, no request */
    assert_int_equal(vt_coll_tdx_fetch(&o, dir, &w, at - 60, 0, VT_COLL_DEFAULT_INTERVAL, false, &rep, &e), VT_OK);
    assert_int_equal(s.requests, 4);
    assert_int_equal(rep.fresh, 4);
    shutdown(s.fd, SHUT_RDWR);
    close(s.fd);
    pthread_join(th, NULL);

    vt_tdx_collateral c;
    vt_tdx_verifier *v;
    strcat(dir, "/tdx");
    assert_int_equal(vt_tdx_collateral_load_dir(dir, &c, &e), VT_OK);
    assert_int_equal(vt_tdx_verifier_new(NULL, &c, &v, &e), VT_OK);
    vt_tdx_result *r = calloc(1, sizeof *r);
    rc = vt_tdx_verify(v, quote.ptr, quote.len, at, r, &e);
    if (rc != VT_OK) fail_msg("verify from cache: %s", e.msg);
    assert_int_equal(r->tcb_status, VT_TCB_UP_TO_DATE);
    free(r);
    vt_tdx_verifier_free(v);
    vt_buf_free(&quote);
}

static void test_fetch_unreachable(void **state)
{
    (void)state;
    vt_buf quote = {0};
    load("quote.bin", &quote);
    char dir[256];
    vt_test_tmpdir(dir, sizeof dir);
    vt_coll_pcs o = {.base_url = "http://127.0.0.1:1", .pccs = true, .timeout_seconds = 2};
    vt_coll_tdx_want w;
    vt_error e;
    assert_int_equal(vt_coll_tdx_want_from_quote(quote.ptr, quote.len, &w, &e), VT_OK);
    assert_int_equal(vt_coll_tdx_fetch(&o, dir, &w, 0, 0, 0, false, NULL, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "127.0.0.1:1"));
    vt_buf_free(&quote);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fetch_then_verify),
        cmocka_unit_test(test_fetch_unreachable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
