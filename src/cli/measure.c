/* veritee measure: precompute launch measurements (reference values) for SNP, TDX and CCA;
 * dispatch and the snp subcommand (specs/measurements.md); shared helpers in measure_util.c. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "measure_cli.h"
#include "veritee/crypto.h"
#include "veritee/fileio.h"
#include "veritee/measure.h"

static void measure_usage(FILE *f)
{
    fprintf(f, "usage: veritee measure snp|tdx|cca [options]   (--help after the TEE for its options)\n"
               "\n"
               "Compute the launch measurement a correct VM must show, from the launch inputs:\n"
               "  snp   SEV-SNP MEASUREMENT (and SEV / SEV-ES digests), optional ID block\n"
               "  tdx   TDX MRTD from the TDVF image; RTMR0-3 replayed from a CCEL event log\n"
               "  cca   Arm CCA Realm Initial Measurement (RMM 1.0 or 2.0 rules)\n"
               "Output: JSON reference values (default) or --hex, one line per value.\n");
}

int cmd_measure(int argc, char **argv)
{
    if (argc < 2) {
        measure_usage(stderr);
        return VT_EXIT_USAGE;
    }
    if (strcmp(argv[1], "snp") == 0) return cmd_measure_snp(argc - 1, argv + 1);
    if (strcmp(argv[1], "tdx") == 0) return cmd_measure_tdx(argc - 1, argv + 1);
    if (strcmp(argv[1], "cca") == 0) return cmd_measure_cca(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        measure_usage(stdout);
        return VT_EXIT_OK;
    }
    fprintf(stderr, "veritee measure: unknown TEE '%s'\n", argv[1]);
    measure_usage(stderr);
    return VT_EXIT_USAGE;
}

/* ---- snp ---- */

static void snp_usage(FILE *f)
{
    fprintf(f,
            "usage: veritee measure snp --firmware OVMF.fd [--vcpus N] [--vcpu-type MODEL | --vcpu-sig HEX]\n"
            "                           [--vmm qemu|ec2|gce] [--guest-features HEX] [--mode snp|seves|sev|ovmf-hash]\n"
            "                           [--ovmf-hash HEX] [--kernel K [--initrd I] [--append STR]]\n"
            "                           [--id-key PEM [--author-key PEM] [--family-id HEX] [--image-id HEX]\n"
            "                            [--guest-svn N] [--policy HEX]] [--hex]\n"
            "\n"
            "  --firmware F        the OVMF image exactly as given to QEMU -bios (its tables drive the rest)\n"
            "  --vcpus N           number of vCPUs (default 1); one VMSA page each\n"
            "  --vcpu-type M       QEMU -cpu model: EPYC, EPYC-v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin\n"
            "  --vcpu-sig HEX      CPUID(1).EAX instead of a model (e.g. for -cpu host)\n"
            "  --vmm V             qemu (default), ec2 or gce: their VMSA defaults and page types differ\n"
            "  --guest-features H  SEV_FEATURES (default 0x1: QEMU >= 9.1; Linux 6.6-era KVM gives 0x21)\n"
            "  --mode M            snp (default), seves or sev (SHA-256 GCTX digests), ovmf-hash (firmware pages only)\n"
            "  --ovmf-hash HEX     precomputed firmware-pages digest (48 bytes) to start from\n"
            "  --kernel/--initrd/--append   QEMU kernel-hashes=on inputs (firmware needs SNP_KERNEL_HASHES)\n"
            "  --id-key PEM        also build the ID block / ID auth signed with this P-384 key\n"
            "  --hex               print only the digest, one line\n");
}

typedef struct snp_opts {
    const char *firmware, *ovmf_hash, *kernel, *initrd, *append, *vcpu_type, *vmm, *mode;
    const char *id_key, *author_key, *family_id, *image_id;
    uint64_t vcpus, vcpu_sig, features, guest_svn, policy;
    bool has_sig, hex;
} snp_opts;

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "veritee measure snp: cannot open key %s\n", path);
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL) fprintf(stderr, "veritee measure snp: %s is not a PEM private key\n", path);
    return k;
}

static int snp_id_block(const snp_opts *o, const uint8_t ld[48], json_t *value)
{
    vt_snp_id_block_in in = {.guest_svn = (uint32_t)o->guest_svn, .policy = o->policy};
    vt_error e;
    vt_error_clear(&e);
    memcpy(in.ld, ld, 48);
    if ((o->family_id && vt_hex_decode_fixed(o->family_id, in.family_id, 16, &e) != VT_OK) ||
        (o->image_id && vt_hex_decode_fixed(o->image_id, in.image_id, 16, &e) != VT_OK))
        return measure_fail("snp", &e);
    EVP_PKEY *id = load_key(o->id_key), *author = o->author_key ? load_key(o->author_key) : NULL;
    vt_snp_id_block_out out;
    int rc = VT_EXIT_USAGE;
    if (id != NULL && (o->author_key == NULL || author != NULL)) {
        if (vt_snp_id_block_build(&in, id, author, &out, &e) != VT_OK) {
            rc = measure_fail("snp", &e);
        } else {
            char *b = vt_b64_encode(out.id_block, sizeof out.id_block, false);
            char *a = vt_b64_encode(out.id_auth, sizeof out.id_auth, false);
            char d1[97], d2[97];
            vt_hex_encode(out.id_key_digest, 48, d1);
            vt_hex_encode(out.author_key_digest, 48, d2);
            json_object_set_new(value, "id_block",
                                json_pack("{s:s?, s:s?, s:s, s:s?, s:I}", "id_block", b, "id_auth", a,
                                          "id_key_digest", d1, "author_key_digest",
                                          out.has_author_key ? d2 : NULL, "policy",
                                          (json_int_t)o->policy));
            free(b);
            free(a);
            rc = VT_EXIT_OK;
        }
    }
    EVP_PKEY_free(id);
    EVP_PKEY_free(author);
    return rc;
}

static int snp_parse(int argc, char **argv, snp_opts *o)
{
    enum { O_FW = 256, O_OH, O_K, O_I, O_A, O_VT, O_VS, O_VMM, O_GF, O_MODE, O_N, O_IDK, O_AK,
           O_FAM, O_IMG, O_SVN, O_POL, O_HEX };
    static const struct option opts[] = {
        {"firmware", 1, 0, O_FW}, {"ovmf-hash", 1, 0, O_OH}, {"kernel", 1, 0, O_K},
        {"initrd", 1, 0, O_I}, {"append", 1, 0, O_A}, {"vcpu-type", 1, 0, O_VT},
        {"vcpu-sig", 1, 0, O_VS}, {"vmm", 1, 0, O_VMM}, {"guest-features", 1, 0, O_GF},
        {"mode", 1, 0, O_MODE}, {"vcpus", 1, 0, O_N}, {"id-key", 1, 0, O_IDK},
        {"author-key", 1, 0, O_AK}, {"family-id", 1, 0, O_FAM}, {"image-id", 1, 0, O_IMG},
        {"guest-svn", 1, 0, O_SVN}, {"policy", 1, 0, O_POL}, {"hex", 0, 0, O_HEX},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case O_FW: o->firmware = optarg; break;
        case O_OH: o->ovmf_hash = optarg; break;
        case O_K: o->kernel = optarg; break;
        case O_I: o->initrd = optarg; break;
        case O_A: o->append = optarg; break;
        case O_VT: o->vcpu_type = optarg; break;
        case O_VS: ok = measure_parse_u64("--vcpu-sig", optarg, UINT32_MAX, &o->vcpu_sig); o->has_sig = true; break;
        case O_VMM: o->vmm = optarg; break;
        case O_GF: ok = measure_parse_u64("--guest-features", optarg, UINT64_MAX, &o->features); break;
        case O_MODE: o->mode = optarg; break;
        case O_N: ok = measure_parse_u64("--vcpus", optarg, 4096, &o->vcpus); break;
        case O_IDK: o->id_key = optarg; break;
        case O_AK: o->author_key = optarg; break;
        case O_FAM: o->family_id = optarg; break;
        case O_IMG: o->image_id = optarg; break;
        case O_SVN: ok = measure_parse_u64("--guest-svn", optarg, UINT32_MAX, &o->guest_svn); break;
        case O_POL: ok = measure_parse_u64("--policy", optarg, UINT64_MAX, &o->policy); break;
        case O_HEX: o->hex = true; break;
        case 'h': snp_usage(stdout); return -1;
        default: snp_usage(stderr); return VT_EXIT_USAGE;
        }
        if (!ok) return VT_EXIT_USAGE;
    }
    if (optind != argc || o->firmware == NULL) {
        fprintf(stderr, "veritee measure snp: --firmware is required (and no stray arguments)\n");
        return VT_EXIT_USAGE;
    }
    if (o->id_key != NULL && strcmp(o->mode, "snp") != 0) {
        fprintf(stderr, "veritee measure snp: --id-key needs --mode snp\n");
        return VT_EXIT_USAGE;
    }
    if ((o->initrd || o->append) && o->kernel == NULL) {
        fprintf(stderr, "veritee measure snp: --initrd/--append need --kernel (kernel-hashes)\n");
        return VT_EXIT_USAGE;
    }
    return VT_EXIT_OK;
}

int cmd_measure_snp(int argc, char **argv)
{
    snp_opts o = {.vcpus = 1, .features = 0x1, .mode = "snp", .vmm = "qemu", .policy = 0x30000};
    int rc = snp_parse(argc, argv, &o);
    if (rc != VT_EXIT_OK) return rc < 0 ? VT_EXIT_OK : rc;
    vt_error e;
    vt_error_clear(&e);
    vt_buf fw = {0}, kernel = {0}, initrd = {0};
    json_t *values = NULL;
    uint8_t seed[48], out[48];
    vt_sev_hashes hashes;
    vt_snp_launch p = {.vcpus = (uint32_t)o.vcpus, .guest_features = o.features};
    rc = VT_EXIT_USAGE;
    if (vt_snp_vmm_parse(o.vmm, &p.vmm, &e) != VT_OK) goto fail;
    if (o.has_sig) p.vcpu_sig = (uint32_t)o.vcpu_sig;
    else if (vt_snp_vcpu_sig(o.vcpu_type ? o.vcpu_type : "EPYC-v4", &p.vcpu_sig, &e) != VT_OK) goto fail;
    if (o.ovmf_hash) {
        if (vt_hex_decode_fixed(o.ovmf_hash, seed, 48, &e) != VT_OK) goto fail;
        p.ovmf_hash = seed;
    }
    if (!measure_read("firmware", o.firmware, &fw)) goto out;
    if (o.kernel && !measure_read("kernel", o.kernel, &kernel)) goto out;
    if (o.initrd && !measure_read("initrd", o.initrd, &initrd)) goto out;
    p.firmware = fw.ptr;
    p.firmware_len = fw.len;
    if (o.kernel) {
        if (vt_sev_hashes_compute(kernel.ptr, kernel.len, o.initrd ? initrd.ptr : NULL, initrd.len,
                                  o.append, &hashes, &e) != VT_OK)
            goto fail;
        p.hashes = &hashes;
    }
    const char *name = "launch_measurement", *alg = "sha-384", *method;
    size_t n = 48;
    vt_err r;
    if (strcmp(o.mode, "snp") == 0) {
        r = vt_measure_snp(&p, out, &e);
        method = "SNP PAGE_INFO chain: firmware pages, OVMF SEV metadata sections, one VMSA per vCPU";
    } else if (strcmp(o.mode, "ovmf-hash") == 0) {
        r = vt_measure_snp_ovmf_hash(fw.ptr, fw.len, out, &e);
        name = "ovmf_hash";
        method = "SNP PAGE_INFO chain over the firmware pages only";
    } else if (strcmp(o.mode, "seves") == 0 || strcmp(o.mode, "sev") == 0) {
        bool es = o.mode[3] == 'e';
        r = es ? vt_measure_seves(&p, out, &e) : vt_measure_sev(&p, out, &e);
        alg = "sha-256";
        n = 32;
        method = es ? "SEV-ES GCTX.LD: SHA-256(firmware || hash table || VMSAs)"
                    : "SEV GCTX.LD: SHA-256(firmware || hash table)";
    } else {
        fprintf(stderr, "veritee measure snp: --mode must be snp, seves, sev or ovmf-hash\n");
        goto out;
    }
    if (r != VT_OK) goto fail;
    json_t *in = json_pack("{s:s, s:o, s:s, s:I, s:s, s:s}", "firmware", o.firmware,
                           "firmware_sha256", measure_sha256_hex(fw.ptr, fw.len), "mode", o.mode,
                           "vcpus", (json_int_t)o.vcpus, "vcpu_type",
                           o.has_sig ? "custom" : (o.vcpu_type ? o.vcpu_type : "EPYC-v4"), "vmm",
                           vt_snp_vmm_name(p.vmm));
    char buf[24];
    snprintf(buf, sizeof buf, "0x%08x", p.vcpu_sig);
    json_object_set_new(in, "vcpu_sig", json_string(buf));
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)o.features);
    json_object_set_new(in, "guest_features", json_string(buf));
    json_object_set_new(in, "kernel_hashes", json_boolean(o.kernel != NULL));
    if (o.kernel) {
        json_object_set_new(in, "kernel_sha256", measure_sha256_hex(kernel.ptr, kernel.len));
        json_object_set_new(in, "initrd_sha256", measure_sha256_hex(initrd.ptr, initrd.len));
        json_object_set_new(in, "cmdline", json_string(o.append ? o.append : ""));
    }
    const char *tee = strcmp(o.mode, "seves") == 0 ? "sev-es" : strcmp(o.mode, "sev") == 0 ? "sev" : "snp";
    json_t *v = measure_value(tee, name, alg, out, n, in, method);
    values = json_array();
    if (v != NULL && o.id_key != NULL) {
        rc = snp_id_block(&o, out, v);
        if (rc != VT_EXIT_OK) {
            json_decref(v);
            goto out;
        }
    }
    json_array_append_new(values, v);
    rc = measure_print(values, o.hex);
    values = NULL;
    goto out;
fail:
    rc = measure_fail("snp", &e);
out:
    json_decref(values);
    vt_buf_free(&fw);
    vt_buf_free(&kernel);
    vt_buf_free(&initrd);
    return rc;
}
