/* veritee ear: verify an EAR JWT with a trusted key (signature, profile, expiry, shape) and
 * print its claims; create or export the signing key (docs/ear.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "veritee/ear.h"
#include "veritee/fileio.h"
#include "veritee/json.h"
#include "veritee/jws.h"

static void usage(FILE *f)
{
    cli_usage(f, "ear");
}

static int read_token(const char *path, vt_buf *out)
{
    vt_error e;
    vt_error_clear(&e);
    if (strcmp(path, "-") == 0) {
        size_t cap = VT_JWS_MAX + 2;
        out->ptr = malloc(cap);
        if (out->ptr == NULL) return VT_EXIT_USAGE;
        out->len = fread(out->ptr, 1, cap - 1, stdin);
        out->ptr[out->len] = 0;
    } else if (vt_file_read(path, VT_JWS_MAX + 2, out, &e) != VT_OK) {
        fprintf(stderr, "veritee ear: %s: %s\n", path, e.msg);
        return VT_EXIT_USAGE;
    }
    while (out->len && (out->ptr[out->len - 1] == '\n' || out->ptr[out->len - 1] == '\r' ||
                        out->ptr[out->len - 1] == ' '))
        out->ptr[--out->len] = 0;
    return VT_EXIT_OK;
}

static void print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) printf("%s\n", s);
    free(s);
}

static int ear_verify(int argc, char **argv)
{
    enum { O_KEY = 256, O_AT, O_AGE, O_EXP, O_AFF, O_JSON };
    static const struct option opts[] = {{"key", 1, 0, O_KEY}, {"at", 1, 0, O_AT}, {"max-age", 1, 0, O_AGE},
                                         {"require-exp", 0, 0, O_EXP}, {"require-affirming", 0, 0, O_AFF},
                                         {"json", 0, 0, O_JSON}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *key = NULL;
    bool json = false, affirming = false;
    vt_ear_verify_opts vo = {.now = (vt_time)time(NULL), .skew = 60};
    vt_error e;
    vt_error_clear(&e);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_KEY: key = optarg; break;
        case O_AT:
            if (vt_time_parse_rfc3339(optarg, &vo.now, &e) != VT_OK) {
                fprintf(stderr, "veritee ear verify: --at: %s\n", e.msg);
                return VT_EXIT_USAGE;
            }
            break;
        case O_AGE: {
            char *end = NULL;
            vo.max_age = strtoll(optarg, &end, 10);
            if (end == optarg || *end || vo.max_age <= 0) {
                fprintf(stderr, "veritee ear verify: --max-age needs a positive number of seconds\n");
                return VT_EXIT_USAGE;
            }
            break;
        }
        case O_EXP: vo.require_exp = true; break;
        case O_AFF: affirming = true; break;
        case O_JSON: json = true; break;
        case 'h': usage(stdout); return VT_EXIT_OK;
        default: return cli_bad_option("ear verify", argv);
        }
    }
    if (key == NULL || optind != argc - 1) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    EVP_PKEY *pub = NULL;
    if (vt_ear_key_load_public(key, &pub, &e) != VT_OK) {
        fprintf(stderr, "veritee ear verify: --key: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    vt_buf tok = {0};
    int ex = read_token(argv[optind], &tok);
    json_t *claims = NULL;
    if (ex == VT_EXIT_OK) {
        if (vt_ear_verify((const char *)tok.ptr, tok.len, pub, &vo, &claims, &e) != VT_OK) {
            fprintf(stderr, "veritee ear verify: REJECTED: %s%s%s\n", e.check, e.check[0] ? ": " : "", e.msg);
            ex = cli_exit_for(e.code);
        } else {
            vt_ear_status st = vt_ear_overall(claims);
            if (json) {
                print_json(claims);
            } else {
                printf("EAR signature VALID (%s), overall status %s\n", vt_jws_alg_for_key(pub), vt_ear_status_name(st));
                print_json(claims);
            }
            if (affirming && st != VT_EAR_AFFIRMING) ex = VT_EXIT_REJECTED;
        }
    }
    json_decref(claims);
    vt_buf_free(&tok);
    EVP_PKEY_free(pub);
    return ex;
}

static int ear_key(int argc, char **argv)
{
    static const struct option opts[] = {{"key", 1, 0, 'k'}, {"alg", 1, 0, 'a'}, {"pub", 1, 0, 'p'},
                                         {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *key = NULL, *alg = "ES256", *pub = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'k') key = optarg;
        else if (c == 'a') alg = optarg;
        else if (c == 'p') pub = optarg;
        else if (c == 'h') {
            cli_usage(stdout, "ear key");
            return VT_EXIT_OK;
        } else {
            return cli_bad_option("ear key", argv);
        }
    }
    if (key == NULL || optind != argc || (strcmp(alg, "ES256") != 0 && strcmp(alg, "ES384") != 0)) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    EVP_PKEY *k = NULL;
    bool created = false;
    if (vt_ear_key_load_or_create(key, strcmp(alg, "ES384") == 0 ? VT_EAR_ES384 : VT_EAR_ES256, &k, &created, &e) != VT_OK) {
        fprintf(stderr, "veritee ear key: %s\n", e.msg);
        return VT_EXIT_USAGE;
    }
    char kid[44] = "";
    if (vt_jwk_thumbprint(k, kid, NULL) != VT_OK) snprintf(kid, sizeof kid, "?");
    printf("%s %s key %s (kid %s)\n", created ? "created" : "loaded", vt_jws_alg_for_key(k), key, kid);
    int ex = VT_EXIT_OK;
    if (pub != NULL && vt_ear_key_write_public(k, pub, &e) != VT_OK) {
        fprintf(stderr, "veritee ear key: --pub: %s\n", e.msg);
        ex = VT_EXIT_USAGE;
    }
    EVP_PKEY_free(k);
    return ex;
}

static int ear_show(int argc, char **argv)
{
    if (argc != 2) {
        usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_buf tok = {0}, pl = {0};
    json_t *hdr = NULL, *claims = NULL;
    vt_error e;
    vt_error_clear(&e);
    int ex = read_token(argv[1], &tok);
    if (ex == VT_EXIT_OK) {
        if (vt_jws_peek((const char *)tok.ptr, tok.len, &hdr, &pl, &e) != VT_OK ||
            vt_json_parse((const char *)pl.ptr, pl.len, &claims, &e) != VT_OK) {
            fprintf(stderr, "veritee ear show: %s\n", e.msg);
            ex = VT_EXIT_USAGE;
        } else {
            printf("NOT VERIFIED (use 'veritee ear verify --key PUB')\nheader: ");
            print_json(hdr);
            print_json(claims);
        }
    }
    json_decref(hdr);
    json_decref(claims);
    vt_buf_free(&tok);
    vt_buf_free(&pl);
    return ex;
}

int cmd_ear(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return ear_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "key") == 0) return ear_key(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "show") == 0) return ear_show(argc - 1, argv + 1);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    usage(help ? stdout : stderr);
    return help ? VT_EXIT_OK : VT_EXIT_USAGE;
}
