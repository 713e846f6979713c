/* The configfs-tsm provider against a report instance driven like the kernel drives it: every
 * attribute is a FIFO served by a helper thread, so writes are seen when they happen, outblob is
 * generated when read (an emulated SNP report over the inblob, the certificate table as
 * auxblob) and generation counts writes. A concurrent writer is injected between our inblob
 * write and our outblob read: once (detected, retried, verified) and always (a clean failure). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "veritee/emulate.h"
#include "veritee/evidence.h"
#include "veritee/snp.h"

enum { F_PROVIDER, F_GENERATION, F_OUTBLOB, F_AUXBLOB, F_INBLOB, F_PRIVLEVEL, F_N };
static const char *const names[F_N] = {"provider", "generation", "outblob", "auxblob", "inblob", "privlevel"};

typedef struct fake {
    char dir[300];
    const char *provider;
    uint64_t gen;
    uint8_t inblob[64];
    size_t inlen;
    unsigned privlevel;
    atomic_int races;    /* concurrent writes still to inject; -1: on every read */
    atomic_int outblob_reads;
    vt_emu *emu;
    int in_fd[F_N];      /* our read ends of inblob and privlevel, always open */
    atomic_bool stop;
    pthread_t th;
} fake;

static void path_of(const fake *f, int i, char *out, size_t cap) { snprintf(out, cap, "%s/%s", f->dir, names[i]); }

/* Writes the caller has completed are in the pipes: apply them, each bumping generation (the
 * kernel's store callbacks run inside write(2)). */
static void drain(fake *f)
{
    for (int i = F_INBLOB; i < F_N; i++) {
        uint8_t buf[128] = {0};
        ssize_t n = read(f->in_fd[i], buf, sizeof buf - 1);
        if (n <= 0) continue;
        if (i == F_INBLOB) {
            f->inlen = (size_t)n > 64 ? 64 : (size_t)n;
            memcpy(f->inblob, buf, f->inlen);
        } else {
            f->privlevel = (unsigned)atoi((const char *)buf);
        }
        f->gen++;
    }
}

/* The value a read of attribute i returns now (the kernel's show/read callbacks). */
static void produce(fake *f, int i, vt_buf *out)
{
    char t[32];
    vt_error e;
    if (i == F_PROVIDER || i == F_GENERATION) {
        if (i == F_PROVIDER) snprintf(t, sizeof t, "%s\n", f->provider);
        else snprintf(t, sizeof t, "%llu\n", (unsigned long long)f->gen);
        assert_int_equal(vt_buf_set(out, t, strlen(t), NULL), VT_OK);
    } else if (i == F_OUTBLOB) {
        f->outblob_reads++;
        if (f->races != 0) { /* another process wrote inblob between our write and this read */
            f->gen++;
            if (f->races > 0) f->races--;
        }
        uint8_t rd[64] = {0};
        memcpy(rd, f->inblob, f->inlen);
        vt_emu_snp_opts o = {.has_vmpl = true, .vmpl = f->privlevel};
        assert_int_equal(vt_emu_snp_report(f->emu, rd, &o, out, &e), VT_OK);
    } else {
        assert_int_equal(vt_emu_snp_certtable(f->emu, false, out, &e), VT_OK);
    }
}

/* One thread plays the kernel: a reader waiting on an attribute makes our non-blocking open
 * succeed; pending writes are applied first, then the value is written and the FIFO replaced
 * by a fresh one, so each open reads one value to EOF as configfs serves it. */
static void *serve(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        bool served = false;
        for (int i = 0; i < F_INBLOB; i++) {
            char path[400], next[420];
            path_of(f, i, path, sizeof path);
            int fd = open(path, O_WRONLY | O_NONBLOCK);
            if (fd < 0) continue;
            snprintf(next, sizeof next, "%s.next", path);
            assert_int_equal(mkfifo(next, 0600), 0);
            assert_int_equal(rename(next, path), 0);
            fcntl(fd, F_SETFL, 0);
            drain(f);
            vt_buf b = {0};
            produce(f, i, &b);
            size_t off = 0;
            while (off < b.len) {
                ssize_t w = write(fd, b.ptr + off, b.len - off);
                if (w <= 0) break;
                off += (size_t)w;
            }
            vt_buf_free(&b);
            close(fd);
            served = true;
        }
        if (!served) usleep(200);
    }
    return NULL;
}

static void fake_start(fake *f, const char *root, const char *entry, const char *provider, vt_emu *emu)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/%s", root, entry);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    f->provider = provider;
    f->emu = emu;
    f->gen = 5;
    for (int i = 0; i < F_N; i++) {
        char p[400];
        path_of(f, i, p, sizeof p);
        assert_int_equal(mkfifo(p, 0600), 0);
        if (i >= F_INBLOB) assert_true((f->in_fd[i] = open(p, O_RDONLY | O_NONBLOCK)) >= 0);
    }
    assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    for (int i = 0; i < F_N; i++) {
        char p[400];
        path_of(f, i, p, sizeof p);
        if (i >= F_INBLOB) close(f->in_fd[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

static vt_emu *snp_emulator(char *dir, size_t cap)
{
    vt_test_tmpdir(dir, cap);
    vt_error e;
    vt_err rc = vt_emu_init(dir, "{\"snp\": {\"rsa_bits\": 2048}}", 1780000000, &e);
    if (rc != VT_OK) fail_msg("emu: %s", e.msg);
    vt_emu *emu;
    assert_int_equal(vt_emu_open(dir, &emu, &e), VT_OK);
    return emu;
}

static void verify_snp(const char *emu_dir, const vt_tsm_report *r, const uint8_t rd[64], uint32_t vmpl)
{
    vt_buf ev = {0};
    assert_int_equal(vt_buf_set(&ev, r->outblob.ptr, r->outblob.len, NULL), VT_OK);
    ev.ptr = realloc(ev.ptr, ev.len + r->auxblob.len);
    memcpy(ev.ptr + ev.len, r->auxblob.ptr, r->auxblob.len);
    ev.len += r->auxblob.len;
    char trust[300];
    snprintf(trust, sizeof trust, "%s/trust", emu_dir);
    vt_snp_dir_collateral t;
    vt_snp_verifier *v;
    vt_error e;
    assert_int_equal(vt_snp_dir_collateral_load(trust, &t, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_new(&v, &e), VT_OK);
    assert_int_equal(vt_snp_verifier_add_trust_cert(v, sk_X509_value(t.certs, 0), &e), VT_OK);
    vt_snp_verify_opts o = {.at = 1780000000, .report_data = rd, .report_data_len = 64};
    vt_snp_claims cl;
    vt_err rc = vt_snp_verify(v, ev.ptr, ev.len, NULL, &o, &cl, NULL, &e);
    if (rc != VT_OK) fail_msg("verify: %s", e.msg);
    assert_int_equal(cl.report.vmpl, vmpl);
    assert_true(cl.emulated);
    vt_snp_verifier_free(v);
    vt_snp_dir_collateral_free(&t);
    vt_buf_free(&ev);
}

static void test_report_and_races(void **state)
{
    (void)state;
    char root[256], emu_dir[256];
    vt_test_tmpdir(root, sizeof root);
    vt_emu *emu = snp_emulator(emu_dir, sizeof emu_dir);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++) rd[i] = (uint8_t)(i * 5 + 1);
    fake f;
    fake_start(&f, root, "inst0", "sev_guest", emu);
    vt_tsm_opts o = {.root = root, .entry = "inst0", .inblob = rd, .inblob_len = 64, .has_privlevel = true,
                     .privlevel = 1};
    vt_tsm_report r;
    vt_error e;
    /* no interference: one attempt, two writes counted */
    vt_err rc = vt_tsm_get_report(&o, &r, &e);
    if (rc != VT_OK) fail_msg("tsm: %s", e.msg);
    assert_string_equal(r.provider, "sev_guest");
    assert_int_equal(r.tee, VT_EV_TEE_SNP);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.generation, 7);
    assert_int_equal(r.outblob.len, VT_SNP_REPORT_SIZE);
    verify_snp(emu_dir, &r, rd, 1);
    vt_tsm_report_free(&r);
    /* one concurrent write: detected by the generation check, retried, the result verifies */
    f.races = 1;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_OK);
    assert_int_equal(r.attempts, 2);
    verify_snp(emu_dir, &r, rd, 1);
    vt_tsm_report_free(&r);
    /* a writer that never stops: a clean failure after the bounded attempts */
    f.races = -1;
    f.outblob_reads = 0;
    o.retries = 4;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_IO);
    assert_string_equal(e.check, "tsm_generation");
    assert_int_equal(f.outblob_reads, 4);
    assert_null(r.outblob.ptr);
    fake_stop(&f);
    /* a named instance made elsewhere is not removed */
    struct stat st;
    fake_start(&f, root, "inst1", "tdx_guest", emu);
    o = (vt_tsm_opts){.root = root, .entry = "inst1", .inblob = rd, .inblob_len = 64};
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_OK);
    assert_int_equal(r.tee, VT_EV_TEE_TDX);
    assert_int_equal(stat(f.dir, &st), 0);
    vt_tsm_report_free(&r);
    fake_stop(&f);
    vt_emu_free(emu);
}

static void test_errors(void **state)
{
    (void)state;
    char root[256];
    vt_test_tmpdir(root, sizeof root);
    uint8_t rd[65] = {0};
    vt_tsm_report r;
    vt_error e;
    vt_tsm_opts o = {.root = "/nonexistent/tsm/report", .inblob = rd, .inblob_len = 64};
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_MISSING);
    assert_false(vt_tsm_present("/nonexistent/tsm/report"));
    assert_true(vt_tsm_present(root));
    o.root = root;
    o.inblob_len = 65;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_ARG);
    o.inblob_len = 0;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_ARG);
    o.inblob_len = 64;
    o.has_privlevel = true;
    o.privlevel = 4;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_ARG);
    o.has_privlevel = false;
    o.entry = "../escape";
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_ARG);
    /* a private instance in a tree with no provider behind it: refused, and removed */
    o.entry = NULL;
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_INVALID);
    assert_non_null(strstr(e.msg, "provider"));
    assert_int_equal(rmdir(root), 0); /* empty again: the instance was removed */
    /* an unknown provider */
    char emu_dir[256];
    vt_emu *emu = snp_emulator(emu_dir, sizeof emu_dir);
    vt_test_tmpdir(root, sizeof root);
    fake f;
    fake_start(&f, root, "x", "future_guest", emu);
    o = (vt_tsm_opts){.root = root, .entry = "x", .inblob = rd, .inblob_len = 64};
    assert_int_equal(vt_tsm_get_report(&o, &r, &e), VT_E_UNSUPPORTED);
    assert_string_equal(e.check, "tsm_provider");
    fake_stop(&f);
    vt_emu_free(emu);
    assert_int_equal(vt_tsm_provider_tee("arm_cca_guest"), VT_EV_TEE_CCA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_and_races),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
