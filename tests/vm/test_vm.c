/* vm layer: config validation, golden QEMU argv and libvirt XML per TEE and option set
 * (tests/vm/golden/vm/; regenerate with VT_UPDATE_GOLDEN=1), libvirt schema validation,
 * QMP client against hostile peers, state dir, host checks on a fake tree, libvirt API. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/codec.h"
#include "veritee/fileio.h"
#include "veritee/vm.h"

#define RUN "/var/lib/veritee/vms"

static const char *golden_dir(void)
{
    static char dir[1024];
    vt_test_source_path("tests/vm/golden/vm", dir, sizeof dir);
    return dir;
}

static void golden(const char *name, const char *text)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", golden_dir(), name);
    vt_error e;
    if (getenv("VT_UPDATE_GOLDEN")) {
        assert_int_equal(vt_file_write(path, text, strlen(text), &e), VT_OK);
        return;
    }
    vt_buf b = {0};
    if (vt_file_read(path, 1 << 20, &b, &e) != VT_OK)
        fail_msg("%s: %s (run with VT_UPDATE_GOLDEN=1 to create)", path, e.msg);
    if (b.len != strlen(text) || memcmp(b.ptr, text, b.len) != 0)
        fail_msg("%s differs from the plan:\n%s", path, text);
    vt_buf_free(&b);
}

static void parse_ok(const char *json, vt_vm_config *c)
{
    vt_error e;
    vt_error_clear(&e);
    if (vt_vm_config_parse(json, strlen(json), c, &e) != VT_OK) fail_msg("config: %s", e.msg);
}

static char *argv_lines(const vt_vm_argv *a)
{
    size_t n = 1;
    for (size_t i = 0; i < a->n; i++) n += strlen(a->v[i]) + 1;
    char *s = malloc(n), *p = s;
    for (size_t i = 0; i < a->n; i++) p += sprintf(p, "%s\n", a->v[i]);
    *p = 0;
    return s;
}

static bool have_validator(void)
{
    return system("command -v virt-xml-validate >/dev/null 2>&1") == 0;
}

static bool schema_knows(const char *value)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "grep -q '<value>%s</value>' /usr/share/libvirt/schemas/domaincommon.rng 2>/dev/null",
             value);
    return system(cmd) == 0;
}

/* Validate with libvirt's own schema; for a launchSecurity type this libvirt does not know
 * (Debian 12's 9.0 predates sev-snp and tdx), validate the rest of the domain. */
static void validate_xml(const char *name, const char *xml, const char *ls_type)
{
    /* make check installs it (scripts/install-deps): a domain not validated is not a pass */
    if (!have_validator()) fail_msg("virt-xml-validate absent (apt install libvirt-clients): %s not validated", name);
    char dir[256], path[400], cmd[600];
    vt_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *copy = strdup(xml);
    if (ls_type != NULL && !schema_knows(ls_type)) {
        char *a = strstr(copy, "  <launchSecurity"), *b = strstr(copy, "</launchSecurity>\n");
        assert_non_null(a);
        assert_non_null(b);
        b += strlen("</launchSecurity>\n");
        memmove(a, b, strlen(b) + 1);
        printf("NOTE: this libvirt's schema has no launchSecurity type '%s': %s validated "
               "without it\n", ls_type, name);
    }
    vt_error e;
    assert_int_equal(vt_file_write(path, copy, strlen(copy), &e), VT_OK);
    free(copy);
    snprintf(cmd, sizeof cmd, "virt-xml-validate %s domain >/dev/null 2>&1", path);
    int r = system(cmd);
    if (r != 0) {
        snprintf(cmd, sizeof cmd, "virt-xml-validate %s domain", path);
        if (system(cmd)) {}
        fail_msg("%s does not validate against libvirt's domain schema", name);
    }
    unlink(path);
    rmdir(dir);
}

typedef struct plan_case {
    const char *name;
    const char *json;
    const char *ls_type;   /* launchSecurity type, NULL for none/cca */
    int libvirt_rc;        /* expected libvirt planner result */
} plan_case;

static void run_case(const plan_case *pc, const char *json)
{
    vt_vm_config *c = calloc(1, sizeof *c);
    parse_ok(json ? json : pc->json, c);
    char run[256], file[128];
    snprintf(run, sizeof run, RUN "/%s", c->name);
    vt_vm_plan_opts o = {.run_dir = run};
    vt_vm_plan p = {0};
    vt_error e;
    vt_error_clear(&e);
    if (vt_vm_plan_qemu(c, &o, &p, &e) != VT_OK) fail_msg("%s: %s", pc->name, e.msg);
    char *lines = argv_lines(&p.argv);
    snprintf(file, sizeof file, "%s.argv", pc->name);
    golden(file, lines);
    free(lines);
    assert_false(p.measurement.present);
    vt_err rc = vt_vm_plan_libvirt(c, &o, &p, &e);
    assert_int_equal(rc, pc->libvirt_rc);
    if (rc == VT_OK) {
        snprintf(file, sizeof file, "%s.xml", pc->name);
        golden(file, p.xml);
        validate_xml(file, p.xml, pc->ls_type);
    }
    vt_vm_plan_free(&p);
    free(c);
}

#define FW "\"firmware\": \"/usr/share/ovmf/OVMF.fd\""
#define KERN "\"kernel\": \"/boot/vmlinuz\", \"initrd\": \"/boot/initrd.img\", " \
             "\"cmdline\": \"console=ttyS0 quiet\""
#define HEX48 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX32 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static const plan_case cases[] = {
    {"none_min", "{\"name\":\"plain\",\"tee\":\"none\",\"accel\":\"tcg\",\"memory_mib\":64}", NULL,
     VT_OK},
    {"none_full",
     "{\"name\":\"plain-full\",\"tee\":\"none\",\"vcpus\":2,\"memory_mib\":512," FW "," KERN ","
     "\"disks\":[{\"path\":\"/img/a,b.qcow2\",\"format\":\"qcow2\"},"
     "{\"path\":\"/img/seed.raw\",\"readonly\":true}],\"network\":{\"mode\":\"user\"},"
     "\"attestation\":{\"kbs_url\":\"https://kbs.example/a?x=1&y=2,3\"}}",
     NULL, VT_OK},
    {"tdx_min", "{\"name\":\"td\",\"tee\":\"tdx\"," FW "}", "tdx", VT_OK},
    {"tdx_full",
     "{\"name\":\"td-full\",\"tee\":\"tdx\",\"vcpus\":4,\"memory_mib\":4096," FW "," KERN ","
     "\"network\":{\"mode\":\"user\"},\"tdx\":{\"debug\":true,\"sept_ve_disable\":true,"
     "\"mrconfigid\":\"" HEX48 "\",\"mrowner\":\"" HEX48 "\",\"mrownerconfig\":\"" HEX48 "\","
     "\"quote_generation_socket\":{\"type\":\"unix\"}}}",
     "tdx", VT_OK},
    {"tdx_vsock",
     "{\"name\":\"td-vsock\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"quote_generation_socket\":"
     "{\"type\":\"vsock\",\"cid\":2,\"port\":4050}}}",
     "tdx", VT_E_UNSUPPORTED},
    {"tdx_attributes",
     "{\"name\":\"td-attr\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"attributes\":\"0x8000000050000000\"}}",
     "tdx", VT_OK},
    {"snp_min", "{\"name\":\"snp\",\"tee\":\"snp\"," FW "}", "sev-snp", VT_OK},
    {"cca_min", "{\"name\":\"realm\",\"tee\":\"cca\",\"kernel\":\"/boot/Image\"}", NULL, VT_OK},
    {"cca_full",
     "{\"name\":\"realm-full\",\"tee\":\"cca\",\"vcpus\":2,\"memory_mib\":2048,"
     "\"firmware\":\"/usr/share/qemu-efi-aarch64/QEMU_EFI.fd\",\"network\":{\"mode\":\"user\"},"
     "\"cca\":{\"measurement_algorithm\":\"sha512\",\"personalization_value\":\"" HEX48 "\","
     "\"measurement_log\":true}}",
     NULL, VT_OK},
};

static void test_plans_golden(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], NULL);
}

/* SNP with every option: id block/auth are large base64 blobs, built here. */
static void test_plan_snp_full(void **state)
{
    (void)state;
    uint8_t blk[96], auth[4096];
    for (size_t i = 0; i < sizeof blk; i++) blk[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof auth; i++) auth[i] = (uint8_t)(i * 7);
    char *b1 = vt_b64_encode(blk, sizeof blk, false), *b2 = vt_b64_encode(auth, sizeof auth, false);
    json_t *o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s, s:i, s:i,"
                          " s:b, s:s, s:b, s:s, s:s, s:s, s:s}}",
                          "name", "snp-full", "tee", "snp", "vcpus", 8, "memory_mib", 8192,
                          "firmware", "/usr/share/ovmf/OVMF.amdsev.fd", "kernel", "/boot/vmlinuz",
                          "initrd", "/boot/initrd.img", "cmdline", "console=ttyS0",
                          "network", "mode", "user",
                          "snp", "policy", "0x530000", "cpu", "EPYC-Genoa", "cbitpos", 51,
                          "reduced_phys_bits", 1, "kernel_hashes", 1, "signing_key", "vlek",
                          "author_key", 1, "host_data", HEX32, "guest_visible_workarounds",
                          "000102030405060708090a0b0c0d0e0f", "id_block", b1, "id_auth", b2);
    assert_non_null(o);
    char *text = json_dumps(o, 0);
    plan_case pc = {"snp_full", NULL, "sev-snp", VT_OK};
    run_case(&pc, text);
    free(text);
    json_decref(o);
    free(b1);
    free(b2);
}

static vt_err fake_measure(const vt_vm_config *c, const vt_vm_plan *plan, void *ctx,
                           vt_vm_measurement *out, vt_error *err)
{
    (void)err;
    assert_true(plan->argv.n > 0 || plan->xml != NULL);
    (*(int *)ctx)++;
    out->present = true;
    snprintf(out->register_name, sizeof out->register_name, "%s",
             c->tee == VT_VM_TEE_SNP ? "MEASUREMENT" : "MRTD");
    snprintf(out->algorithm, sizeof out->algorithm, "sha384");
    memset(out->value_hex, 'a', 96);
    return VT_OK;
}

static void test_measure_hook(void **state)
{
    (void)state;
    vt_vm_config c;
    parse_ok("{\"name\":\"snp\",\"tee\":\"snp\"," FW "}", &c);
    int calls = 0;
    vt_vm_plan_opts o = {.run_dir = RUN "/snp", .measure = fake_measure, .measure_ctx = &calls};
    vt_vm_plan p = {0};
    vt_error e;
    assert_int_equal(vt_vm_plan_qemu(&c, &o, &p, &e), VT_OK);
    assert_int_equal(calls, 1);
    assert_true(p.measurement.present);
    assert_string_equal(p.measurement.register_name, "MEASUREMENT");
    assert_int_equal(vt_vm_plan_libvirt(&c, &o, &p, &e), VT_OK);
    assert_int_equal(calls, 2);
    vt_vm_plan_free(&p);
}

typedef struct bad_case {
    const char *json;
    const char *msg; /* substring of the error */
} bad_case;

static void test_bad_configs(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {"{\"name\":\"x\",\"tee\":\"sgx\"}", "tee: 'sgx' unknown"},
        {"{\"name\":\"x\"}", "tee: missing"},
        {"{\"tee\":\"none\"}", "name: missing"},
        {"{\"name\":\"../etc\",\"tee\":\"none\"}", "name: '../etc' must not start with '.'"},
        {"{\"name\":\"a/b\",\"tee\":\"none\"}", "name: 'a/b' contains a path character '/'"},
        {"{\"name\":\"a b\",\"tee\":\"none\"}", "name: character 0x20 at 1"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"policy\":\"0x4030000\"}}",
         "snp.policy: reserved bits 63:26 must be zero (got 0x4030000)"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"policy\":\"0x10000\"}}",
         "snp.policy: reserved bit 17 must be one"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"policy\":\"0xb0000\"}}",
         "DEBUG (bit 19)"},
        {"{\"name\":\"x\",\"tee\":\"snp\"}", "firmware: missing; a snp guest"},
        {"{\"name\":\"x\",\"tee\":\"tdx\"}", "firmware: missing; a tdx guest"},
        {"{\"name\":\"x\",\"tee\":\"cca\"}", "firmware: missing; a realm"},
        {"{\"name\":\"x\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"attributes\":\"0x2\"}}",
         "tdx.attributes: reserved bits set (0x2"},
        {"{\"name\":\"x\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"attributes\":1,\"debug\":true}}",
         "give either attributes or debug"},
        {"{\"name\":\"x\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"mrowner\":\"00\"}}",
         "tdx.mrowner: expected a hex string of 48 bytes (96 hex digits)"},
        {"{\"name\":\"x\",\"tee\":\"tdx\"," FW ",\"tdx\":{\"sept_ve_disabled\":true}}",
         "tdx.sept_ve_disabled: unknown key"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"memroy_mib\":5}", "memroy_mib: unknown key"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"snp\":{}}", "snp: options given for tee 'none'"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"accel\":\"tcg\"}", "a snp guest needs kvm"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"kernel_hashes\":true}}",
         "snp.kernel_hashes: needs kernel"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"id_block\":\"AAAA\"}}",
         "snp.id_block: expected base64 of 96 bytes (got 3)"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"signing_key\":\"ark\"}}",
         "snp.signing_key: 'ark' unknown"},
        {"{\"name\":\"x\",\"tee\":\"cca\",\"kernel\":\"/k\",\"cca\":{\"measurement_algorithm\":"
         "\"sha384\"}}", "cca.measurement_algorithm: 'sha384' unknown"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"firmware\":\"OVMF.fd\"}",
         "firmware: 'OVMF.fd' must be an absolute path"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"disks\":[{\"path\":\"/a\",\"format\":\"vmdk\"}]}",
         "disks[0].format: 'vmdk' unknown"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"vcpus\":0}", "vcpus: expected an integer 1..512, got 0"},
        /* a wrong type is an error, never the default (core JSON getters) */
        {"{\"name\":\"x\",\"tee\":\"none\",\"vcpus\":\"4\"}", "vcpus: expected an integer 1..512"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"disks\":[{\"path\":\"/a\",\"readonly\":1}]}",
         "disks[0].readonly: expected true or false"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"policy\":\"0x3000g\"}}",
         "snp.policy: expected an integer"},
        {"{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":[]}", "snp: expected an object"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"cmdline\":\"a\\nb\"}", "cmdline: control character"},
        {"{\"name\":\"x\",\"tee\":\"none\",\"attestation\":{\"kbs_url\":\"ftp://k\"}}",
         "attestation.kbs_url: 'ftp://k' is not an http(s) URL"},
        {"{\"name\":\"x\",\"name\":\"y\",\"tee\":\"none\"}", "config"},
        {"[1,2]", "config: expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vt_vm_config c;
        vt_error e;
        vt_error_clear(&e);
        vt_err rc = vt_vm_config_parse(bad[i].json, strlen(bad[i].json), &c, &e);
        if (rc != VT_E_INVALID) fail_msg("case %zu accepted: %s", i, bad[i].json);
        if (strstr(e.msg, bad[i].msg) == NULL)
            fail_msg("case %zu: error '%s' lacks '%s'", i, e.msg, bad[i].msg);
    }
}

/* A u64 option reads one way everywhere: a JSON integer, "0x" hex or a decimal string;
 * "0196608" is decimal (the old strtoull-style base 0 would have read a leading 0 as octal). */
static void test_config_u64_forms(void **state)
{
    (void)state;
    static const char *const forms[] = {"196608", "\"0x30000\"", "\"196608\"", "\"0196608\""};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"name\":\"x\",\"tee\":\"snp\"," FW ",\"snp\":{\"policy\":%s}}",
                 forms[i]);
        vt_vm_config c;
        vt_error e;
        if (vt_vm_config_parse(text, strlen(text), &c, &e) != VT_OK) fail_msg("%s: %s", forms[i], e.msg);
        assert_int_equal(c.snp.policy, 0x30000);
    }
}

/* A rejected config creates nothing; a missing firmware file is VT_E_MISSING naming it. */
static void test_create_rejects(void **state)
{
    (void)state;
    char dir[256], cfg[400], vmdir[400];
    vt_test_tmpdir(dir, sizeof dir);
    vt_vm_lifecycle_opts o = {.state_dir = dir, .timeout_ms = 5000};
    vt_error e;
    vt_vm_status st;
    snprintf(cfg, sizeof cfg, "%s/bad.json", dir);
    const char *j = "{\"name\":\"nofw\",\"tee\":\"snp\",\"firmware\":\"/nonexistent/OVMF.fd\"}";
    assert_int_equal(vt_file_write(cfg, j, strlen(j), &e), VT_OK);
    assert_int_equal(vt_vm_create(&o, cfg, &st, &e), VT_E_MISSING);
    assert_non_null(strstr(e.msg, "firmware: /nonexistent/OVMF.fd"));
    snprintf(vmdir, sizeof vmdir, "%s/vms/nofw", dir);
    assert_false(vt_file_exists(vmdir));
    j = "{\"name\":\"x\",\"tee\":\"snp\",\"snp\":{\"policy\":\"0xff0000000\"}}";
    assert_int_equal(vt_file_write(cfg, j, strlen(j), &e), VT_OK);
    assert_int_equal(vt_vm_create(&o, cfg, &st, &e), VT_E_INVALID);
    snprintf(vmdir, sizeof vmdir, "%s/vms/x", dir);
    assert_false(vt_file_exists(vmdir));
    /* QEMU that cannot be executed: start fails with the log tail, state stays "stopped" */
    j = "{\"name\":\"noqemu\",\"tee\":\"none\",\"qemu\":\"/nonexistent/qemu-system-x86_64\"}";
    assert_int_equal(vt_file_write(cfg, j, strlen(j), &e), VT_OK);
    assert_int_equal(vt_vm_create(&o, cfg, &st, &e), VT_OK);
    assert_int_equal(vt_vm_create(&o, cfg, &st, &e), VT_E_ARG);
    assert_non_null(strstr(e.msg, "exists already"));
    assert_int_equal(vt_vm_start(&o, "noqemu", &st, &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "cannot execute /nonexistent/qemu-system-x86_64"));
    assert_int_equal(vt_vm_status_get(&o, "noqemu", &st, &e), VT_OK);
    assert_int_equal(st.state, VT_VM_DEFINED);
    assert_int_equal(vt_vm_status_get(&o, "../noqemu", &st, &e), VT_E_INVALID);
    assert_int_equal(vt_vm_status_get(&o, "other", &st, &e), VT_E_MISSING);
    assert_int_equal(vt_vm_query(&o, "noqemu", "quit", NULL, &e), VT_E_ARG);
    assert_int_equal(vt_vm_destroy(&o, "noqemu", &e), VT_OK);
    snprintf(vmdir, sizeof vmdir, "%s/vms/noqemu", dir);
    assert_false(vt_file_exists(vmdir));
    vt_vm_status *l = NULL;
    size_t n = 9;
    assert_int_equal(vt_vm_list(&o, &l, &n, &e), VT_OK);
    assert_int_equal(n, 0);
    free(l);
    unlink(cfg);
}

static void test_state_dir(void **state)
{
    (void)state;
    char out[256];
    vt_error e;
    assert_int_equal(vt_vm_state_dir(out, sizeof out, "/tmp/x/", false, "/xdg", "/home/u", &e), VT_OK);
    assert_string_equal(out, "/tmp/x");
    assert_int_equal(vt_vm_state_dir(out, sizeof out, NULL, true, "/xdg", "/home/u", &e), VT_OK);
    assert_string_equal(out, "/var/lib/veritee");
    assert_int_equal(vt_vm_state_dir(out, sizeof out, "", false, "/xdg", "/home/u", &e), VT_OK);
    assert_string_equal(out, "/xdg/veritee");
    assert_int_equal(vt_vm_state_dir(out, sizeof out, NULL, false, NULL, "/home/u", &e), VT_OK);
    assert_string_equal(out, "/home/u/.local/state/veritee");
    assert_int_equal(vt_vm_state_dir(out, sizeof out, "rel", false, NULL, "/h", &e), VT_E_ARG);
    assert_int_equal(vt_vm_state_dir(out, sizeof out, NULL, false, NULL, NULL, &e), VT_E_ARG);
    assert_int_equal(vt_vm_state_dir(out, sizeof out, "/a,b", false, NULL, NULL, &e), VT_E_ARG);
    assert_int_equal(vt_vm_run_dir(out, sizeof out, "/s", "vm1", &e), VT_OK);
    assert_string_equal(out, "/s/vms/vm1");
    assert_int_equal(vt_vm_run_dir(out, sizeof out, "/s", "..", &e), VT_E_INVALID);
}

/* ---- QMP against scripted (hostile) peers ---- */

/* A child process plays QEMU: writes `script` (n bytes) then keeps the socket open for
 * linger_ms, then exits. Returns the client fd. */
static int peer(const char *script, size_t n, int linger_ms, pid_t *child)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        close(sv[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = send(sv[1], script + off, n - off, MSG_NOSIGNAL);
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (linger_ms) usleep((useconds_t)linger_ms * 1000);
        _exit(0);
    }
    close(sv[1]);
    *child = p;
    return sv[0];
}

static void reap(pid_t p)
{
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
}

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}, \"capabilities\": []}}\r\n"
#define CAPS_OK "{\"return\": {}, \"id\": 1}\r\n"

static vt_err qmp_script(const char *script, size_t n, int timeout_ms, char *status, vt_error *e)
{
    pid_t child;
    int fd = peer(script, n, 3000, &child);
    vt_qmp *q = NULL;
    vt_err rc = vt_qmp_open_fd(fd, timeout_ms, &q, e);
    if (rc == VT_OK) rc = vt_qmp_query_status(q, status, 32, e);
    vt_qmp_close(q);
    reap(child);
    return rc;
}

static void test_qmp_ok(void **state)
{
    (void)state;
    const char *s = GREETING CAPS_OK
        "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"
        "\r\n"
        "{\"return\": {\"status\": \"stale\"}, \"id\": 99}\r\n"
        "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 2}\r\n";
    char st[32] = "";
    vt_error e;
    vt_error_clear(&e);
    assert_int_equal(qmp_script(s, strlen(s), 2000, st, &e), VT_OK);
    assert_string_equal(st, "running");
}

static void test_qmp_hostile(void **state)
{
    (void)state;
    char st[32];
    vt_error e;
    struct { const char *script; int rc; const char *msg; } c[] = {
        {GREETING CAPS_OK "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": 2}\n",
         VT_E_VERIFY, "QMP query-status failed: GenericError: no"},
        {"not json\n", VT_E_INVALID, "QMP message"},
        {CAPS_OK, VT_E_INVALID, "expected a greeting first"},
        {GREETING, VT_E_IO, "timed out"},
        {GREETING CAPS_OK "{\"return\": {\"status\": 5}, \"id\": 2}\n", VT_E_INVALID,
         "no usable \"status\""},
        {GREETING CAPS_OK "{\"foo\": 1}\n", VT_E_INVALID, "neither a greeting"},
        {GREETING CAPS_OK "{\"error\": {\"class\": 1}, \"id\": 2}\n", VT_E_INVALID,
         "lacks a string class"},
        {GREETING CAPS_OK GREETING, VT_E_INVALID, "unexpected greeting"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        vt_error_clear(&e);
        vt_err rc = qmp_script(c[i].script, strlen(c[i].script), 300, st, &e);
        if (rc != c[i].rc || strstr(e.msg, c[i].msg) == NULL)
            fail_msg("case %zu: rc %d msg '%s', want %d '%s'", i, rc, e.msg, c[i].rc, c[i].msg);
    }
    /* connection closed mid-conversation */
    pid_t child;
    int fd = peer(GREETING, strlen(GREETING), 0, &child);
    vt_qmp *q = NULL;
    assert_int_equal(vt_qmp_open_fd(fd, 2000, &q, &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "closed by QEMU"));
    reap(child);
    /* one message longer than the bound, never newline-terminated */
    size_t big = VT_QMP_MSG_MAX + 4096;
    char *s = malloc(big);
    memset(s, ' ', big);
    memcpy(s, GREETING CAPS_OK, strlen(GREETING CAPS_OK));
    assert_int_equal(qmp_script(s, big, 5000, st, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "without a line end"));
    free(s);
    /* an endless stream of events never answers the command */
    size_t ev_len = strlen("{\"event\": \"X\"}\n");
    size_t total = strlen(GREETING CAPS_OK) + (VT_QMP_SKIP_MAX + 10) * ev_len;
    s = malloc(total + 1);
    char *p = s + sprintf(s, GREETING CAPS_OK);
    for (int i = 0; i < VT_QMP_SKIP_MAX + 10; i++) p += sprintf(p, "{\"event\": \"X\"}\n");
    assert_int_equal(qmp_script(s, total, 5000, st, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "no reply within"));
    free(s);
}

static void test_qmp_parse(void **state)
{
    (void)state;
    vt_qmp_msg m;
    vt_error e;
    const char *ev = "{\"event\":\"GUEST_PANICKED\",\"data\":{\"action\":\"pause\"}}";
    assert_int_equal(vt_qmp_parse_message(ev, strlen(ev), &m, &e), VT_OK);
    assert_int_equal(m.kind, VT_QMP_EVENT);
    assert_string_equal(m.name, "GUEST_PANICKED");
    assert_true(json_is_object(m.value));
    vt_qmp_msg_free(&m);
    const char *er = "{\"error\":{\"class\":\"C\",\"desc\":\"a\\u0001b\"},\"id\":7}";
    assert_int_equal(vt_qmp_parse_message(er, strlen(er), &m, &e), VT_OK);
    assert_int_equal(m.kind, VT_QMP_ERROR);
    assert_int_equal(m.id, 7);
    assert_string_equal(m.desc, "a?b");
    vt_qmp_msg_free(&m);
    assert_int_equal(vt_qmp_parse_message("[]", 2, &m, &e), VT_E_INVALID);
    assert_int_equal(vt_qmp_parse_message("{\"QMP\":1}", 9, &m, &e), VT_E_INVALID);
    assert_int_equal(vt_qmp_connect("/nonexistent/qmp.sock", 100, NULL, &e), VT_E_IO);
}

/* ---- host checks on a fake tree ---- */

static void put(const char *root, const char *rel, const char *text)
{
    char p[512], cmd[700];
    snprintf(p, sizeof p, "%s%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", p);
    assert_int_equal(system(cmd), 0);
    vt_error e;
    assert_int_equal(vt_file_write(p, text, strlen(text), &e), VT_OK);
}

static const vt_host_fact *find_fact(const vt_host_report *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->facts[i].name, name) == 0) return &r->facts[i];
    fail_msg("no fact %s", name);
    return NULL;
}

static void test_host_snp(void **state)
{
    (void)state;
    char root[256];
    vt_test_tmpdir(root, sizeof root);
    put(root, "/proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\n"
                               "flags\t\t: fpu sme sev sev_es sev_snp svm\n\nprocessor\t: 1\n");
    put(root, "/sys/module/kvm_amd/parameters/sev_snp", "N\n");
    put(root, "/dev/kvm", "");
    vt_host_report *r = calloc(1, sizeof *r);
    vt_error e;
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    const vt_host_fact *f = find_fact(r, "snp.kvm");
    assert_int_equal(f->answer, VT_HOST_NO);
    assert_non_null(strstr(f->advice, "SNP disabled: load kvm_amd with sev_snp=1"));
    assert_int_equal(find_fact(r, "snp.cpu")->answer, VT_HOST_YES);
    assert_int_equal(find_fact(r, "snp.sev_device")->answer, VT_HOST_NO);
    assert_int_equal(find_fact(r, "tdx.cpu")->answer, VT_HOST_NO);
    assert_non_null(strstr(find_fact(r, "tdx.cpu")->detail, "not an Intel CPU"));
    assert_false(r->snp_host);
    put(root, "/sys/module/kvm_amd/parameters/sev_snp", "Y\n");
    put(root, "/dev/sev", "");
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_true(r->snp_host);
    assert_false(r->tdx_host);
    assert_string_equal(find_fact(r, "snp.kvm")->advice, "");
    /* BIOS left SNP off: sev present, sev_snp absent */
    put(root, "/proc/cpuinfo", "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sev sev_es\n");
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_non_null(strstr(find_fact(r, "snp.cpu")->advice, "SNP not enabled by the BIOS"));
    free(r);
}

static void test_host_tdx_and_guest(void **state)
{
    (void)state;
    char root[256];
    vt_test_tmpdir(root, sizeof root);
    put(root, "/proc/cpuinfo", "vendor_id\t: GenuineIntel\nflags\t\t: fpu vmx tdx_host_platform\n");
    put(root, "/sys/module/kvm_intel/parameters/nested", "Y\n");
    put(root, "/dev/kvm", "");
    vt_host_report *r = calloc(1, sizeof *r);
    vt_error e;
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_non_null(strstr(find_fact(r, "tdx.kvm")->advice, "Linux 6.16"));
    put(root, "/sys/module/kvm_intel/parameters/tdx", "N\n");
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_non_null(strstr(find_fact(r, "tdx.kvm")->advice, "load kvm_intel with tdx=1"));
    put(root, "/sys/module/kvm_intel/parameters/tdx", "Y\n");
    put(root, "/sys/devices/faux/tdx_host/version", "1.5.16\n");
    put(root, "/usr/share/ovmf/OVMF.inteltdx.fd", "x");
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_true(r->tdx_host);
    assert_string_equal(find_fact(r, "tdx.module")->detail, "TDX module version 1.5.16");
    assert_int_equal(find_fact(r, "firmware.tdx")->answer, VT_HOST_YES);
    assert_int_equal(find_fact(r, "firmware.snp")->answer, VT_HOST_UNKNOWN);
    assert_false(r->tdx_guest);
    /* inside a TD */
    put(root, "/sys/kernel/config/tsm/report/r0/provider", "tdx_guest\n");
    put(root, "/dev/tdx_guest", "");
    assert_int_equal(vt_host_report_build(root, r, &e), VT_OK);
    assert_true(r->tdx_guest);
    assert_non_null(strstr(find_fact(r, "guest.configfs_tsm")->detail, "provider tdx_guest"));
    assert_false(r->snp_guest);
    /* no cpuinfo at all: unknown, not a crash */
    char empty[256];
    vt_test_tmpdir(empty, sizeof empty);
    assert_int_equal(vt_host_report_build(empty, r, &e), VT_OK);
    assert_int_equal(find_fact(r, "tdx.cpu")->answer, VT_HOST_UNKNOWN);
    assert_int_equal(find_fact(r, "kvm")->answer, VT_HOST_NO);
    free(r);
}

/* ---- libvirt C API against the in-process test driver ---- */

static void test_libvirt_api(void **state)
{
    (void)state;
    if (!vt_virt_available()) {
        printf("SKIP: built without libvirt-dev\n");
        skip();
    }
    vt_vm_config c;
    parse_ok("{\"name\":\"lv1\",\"tee\":\"none\",\"memory_mib\":64}", &c);
    vt_vm_plan p = {0};
    vt_error e;
    assert_int_equal(vt_vm_plan_libvirt(&c, NULL, &p, &e), VT_OK);
    vt_virt *v = NULL;
    assert_int_equal(vt_virt_open("test:///default", &v, &e), VT_OK);
    assert_int_equal(vt_virt_define(v, p.xml, &e), VT_OK);
    char st[32];
    bool active = true;
    assert_int_equal(vt_virt_state(v, "lv1", st, sizeof st, &active, &e), VT_OK);
    assert_string_equal(st, "shutoff");
    assert_false(active);
    assert_int_equal(vt_virt_start(v, "lv1", &e), VT_OK);
    assert_int_equal(vt_virt_state(v, "lv1", st, sizeof st, &active, &e), VT_OK);
    assert_string_equal(st, "running");
    assert_true(active);
    assert_int_equal(vt_virt_destroy(v, "lv1", &e), VT_OK);
    assert_int_equal(vt_virt_undefine(v, "lv1", &e), VT_OK);
    assert_int_equal(vt_virt_state(v, "lv1", st, sizeof st, &active, &e), VT_E_IO);
    assert_non_null(strstr(e.msg, "lv1"));
    assert_int_equal(vt_virt_define(v, "<domain type='kvm'><name>x</name></domain>", &e), VT_E_IO);
    vt_virt_close(v);
    vt_vm_plan_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans_golden),   cmocka_unit_test(test_plan_snp_full),
        cmocka_unit_test(test_measure_hook),   cmocka_unit_test(test_bad_configs), cmocka_unit_test(test_config_u64_forms),
        cmocka_unit_test(test_create_rejects), cmocka_unit_test(test_state_dir),
        cmocka_unit_test(test_qmp_ok),         cmocka_unit_test(test_qmp_hostile),
        cmocka_unit_test(test_qmp_parse),      cmocka_unit_test(test_host_snp),
        cmocka_unit_test(test_host_tdx_and_guest), cmocka_unit_test(test_libvirt_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
