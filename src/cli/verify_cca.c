/* veritee verify --tee cca (platform + realm token verification) and veritee cca show
 * (every claim of a token, parsed but not verified). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/cca.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/verify.h"

/* Dispatched from main.c as `veritee cca ...`. */
int cmd_cca(int argc, char **argv);

static void print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s != NULL) printf("%s\n", s);
    free(s);
}

/* Flatten a JSON value into "path value" lines. */
static void print_flat(const char *path, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            char p[160];
            snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", k);
            print_flat(p, x);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            char p[160];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            print_flat(p, x);
        }
    } else if (json_is_string(v)) {
        printf("  %-44s %s\n", path, json_string_value(v));
    } else if (json_is_integer(v)) {
        printf("  %-44s %lld\n", path, (long long)json_integer_value(v));
    }
}

static void print_text(const cli_verify_args *a, const vt_cca_token *t, const vt_checks *c)
{
    const vt_cca_realm_claims *r = &t->realm;
    char hex[2 * 64 + 1];
    printf("%s: CCA token (tag %llu, profile %s) VERIFIED\n", a->file, (unsigned long long)t->tag,
           vt_cca_profile_name(t->platform.profile_id));
    vt_hex_encode(r->challenge.ptr, r->challenge.len, hex);
    printf("  %-22s %s\n", "realm_challenge", hex);
    vt_hex_encode(r->rim.ptr, r->rim.len, hex);
    printf("  %-22s %s\n", "rim", hex);
    for (int i = 0; i < 4; i++) {
        vt_hex_encode(r->rem[i].ptr, r->rem[i].len, hex);
        printf("  rem%-19d %s\n", i, hex);
    }
    vt_hex_encode(r->personalization.ptr, r->personalization.len, hex);
    printf("  %-22s %s\n", "personalization_value", hex);
    printf("  %-22s %.*s\n", "realm_hash_algorithm", (int)r->hash_alg_id.len,
           (const char *)r->hash_alg_id.ptr);
    vt_hex_encode(t->platform.instance_id.ptr, t->platform.instance_id.len, hex);
    printf("  %-22s %s\n", "platform_instance_id", hex);
    vt_hex_encode(t->platform.implementation_id.ptr, t->platform.implementation_id.len, hex);
    printf("  %-22s %s\n", "implementation_id", hex);
    printf("  %-22s 0x%04llx (%s)\n", "lifecycle", (unsigned long long)t->platform.lifecycle,
           vt_cca_lifecycle_name(t->platform.lifecycle));
    printf("  %-22s %zu (see --json or 'veritee cca show')\n", "software_components",
           t->platform.n_sw);
    printf("checks:\n");
    cli_print_checks(stdout, c);
}

int cli_print_cca(const cli_verify_args *a, const vt_verify_result *r)
{
    if (a->json) {
        json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:b}", "file", a->file, "tee", "cca", "verified", 1, "cpak",
                              r->cca_cpak, "emulated", r->cca_cpak_emulated);
        json_t *claims = vt_cca_claims_json(r->cca);
        if (o != NULL && claims != NULL) json_object_update(o, claims);
        if (o != NULL) json_object_set_new(o, "checks", vt_checks_json(&r->checks));
        print_json(o);
        json_decref(claims);
        json_decref(o);
    } else {
        print_text(a, r->cca, &r->checks);
        if (r->cca_cpak_emulated) printf("EMULATED TEE: test evidence, not hardware (CPAK %s)\n", r->cca_cpak);
    }
    return VT_EXIT_OK;
}

static void cca_usage(FILE *f)
{
    fprintf(f, "usage: veritee cca show [--json] TOKEN\n"
               "\n"
               "  show    print every claim of a CCA attestation token (platform and realm),\n"
               "          parsed but NOT verified; use 'veritee verify --tee cca' to verify\n");
}

int cmd_cca(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cca_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? VT_EXIT_USAGE : VT_EXIT_OK;
    }
    if (strcmp(argv[1], "show") != 0) {
        fprintf(stderr, "veritee cca: unknown subcommand '%s'\n", argv[1]);
        cca_usage(stderr);
        return VT_EXIT_USAGE;
    }
    bool json = false;
    const char *file = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (file == NULL && argv[i][0] != '-') file = argv[i];
        else {
            cca_usage(stderr);
            return VT_EXIT_USAGE;
        }
    }
    if (file == NULL) {
        cca_usage(stderr);
        return VT_EXIT_USAGE;
    }
    vt_error e;
    vt_error_clear(&e);
    vt_buf b = {0};
    vt_cca_token *t = calloc(1, sizeof *t);
    int ex = VT_EXIT_USAGE;
    if (t == NULL) return ex;
    if (vt_file_read(file, VT_FILE_MAX, &b, &e) != VT_OK ||
        vt_cca_token_parse(b.ptr, b.len, t, &e) != VT_OK) {
        fprintf(stderr, "veritee cca show: %s: %s\n", file, e.msg);
        ex = cli_exit_for(e.code) == VT_EXIT_MISSING ? VT_EXIT_USAGE : VT_EXIT_USAGE;
        goto out;
    }
    json_t *o = vt_cca_claims_json(t);
    if (json) {
        print_json(o);
    } else {
        printf("%s: CCA token (parsed, not verified)\n", file);
        print_flat("", o);
    }
    json_decref(o);
    ex = VT_EXIT_OK;
out:
    vt_buf_free(&b);
    free(t);
    return ex;
}
