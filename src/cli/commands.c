/* The one command table of the veritee CLI: every command and subcommand with its summary,
 * synopsis, options and help text. Usage, `veritee help CMD`, `veritee CMD --help`, the error
 * hints and dispatch all read it (and man pages / shell completion can be generated from it). */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "veritee/vtpm.h"
#include "veritee/evidence.h"
#include "veritee/tdx.h"

#define END {NULL, 0, NULL, NULL}

/* Options every verifier-backed command shares (verify, and as documented for appraise). */
static const cli_opt verify_opts[] = {
    {"tee", 0, "T", "evidence kind: auto (default: detected from the bytes), tdx, sgx, snp, cca,\n"
                    "nvidia (GPU evidence list JSON: must be named), az-snp-vtpm, az-tdx-vtpm, tpm"},
    {"collateral", 0, "DIR", "TDX/SGX: PCS collateral (tcbinfo_<fmspc>.json, qe_identity.json,\n"
                             "tcb_signing_chain.pem, pck_crl.der, root_ca_crl.der, ...);\n"
                             "SNP: certificates and CRL (vcek.der|vcek.pem, ask/ark, crl)"},
    {"trust", 0, "FILE|DIR", "trust anchors, one file or a directory of them (TDX: intel_sgx_root_ca.pem|.der;\n"
                             "SNP: ARK PEMs; CCA: CPAK PEM/JWK files or a JSON trust store; az-snp-vtpm:\n"
                             "ASK/ARK PEMs; tpm: the trusted AK public keys; NVIDIA: the device root PEM\n"
                             "or a DIR with nvidia_device_root.pem); default: built-in vendor roots"},
    {"certs", 0, "FILE|DIR", "SNP: VCEK/VLEK and ASK/ARK certificates: a directory (as --collateral)\n"
                             "or one PEM file holding the chain"},
    {"cpak", 0, "FILE", "CCA: the platform attestation key (PEM or JWK)"},
    {"nonce", 0, "HEX", "expected nonce, 1..64 bytes, zero-padded to 64: the REPORTDATA of\n"
                        "TDX/SGX/SNP evidence, the realm challenge of a CCA token; for az-*-vtpm\n"
                        "and tpm the TPM quote's qualifying data, exactly; NVIDIA: its first 32\n"
                        "bytes (zero-padded) are the GPU nonce"},
    {"product", 0, "NAME", "SNP: milan, genoa or turin when the report does not say"},
    {"pcs-url", 0, "URL", "TDX/SGX: without --collateral, fetch the collateral from Intel PCS\n"
                          "(https://api.trustedservices.intel.com) or a PCCS (v4 API) into --cache"},
    {"kds-url", 0, "URL", "SNP: fetch the VCEK, ASK/ARK chain and CRL from AMD KDS\n"
                          "(https://kdsintf.amd.com) into --cache, each checked against the\n"
                          "ARK before it is cached"},
    {"cache", 0, "DIR", "on-disk cache for fetched collateral (read even without a URL;\n"
                        "TDX/SGX: the collateral directory when --collateral is absent;\n"
                        "NVIDIA: OCSP responses and RIMs, DIR/nvidia/{ocsp,rim})"},
    {"allow-missing-crl", 0, NULL, "accept evidence whose PCK CRL is unavailable; the revocation\n"
                                   "check is then reported as skipped (fail-closed otherwise)"},
    {"init-data", 0, "FILE", "the init-data TOML the guest was started with (CoCo initdata): its\n"
                             "digest must be bound in MRCONFIGID (TDX), HOSTDATA (SNP), CONFIGID (SGX),\n"
                             "the personalization value (CCA: sha512) or PCR8 (az-*-vtpm, tpm: sha256)"},
    {"ocsp", 0, "[=URL]", "NVIDIA: ask the OCSP responder (default https://ocsp.ndis.nvidia.com/)\n"
                          "about every certificate of the device chain (and of the RIM signer\n"
                          "chains) no --ocsp-response/--crl covers; responses are cached in --cache"},
    {"ocsp-response", 0, "FILE|DIR", "NVIDIA: DER OCSP responses to use offline: a file (repeatable) or\n"
                                     "every file of one DIR"},
    {"crl", 0, "FILE", "NVIDIA: a CRL (DER or PEM) of an issuer in the chain (repeatable)"},
    {"allow-revocation-unknown", 0, NULL, "NVIDIA: accept a certificate whose revocation status is\n"
                                          "unknown (responder unreachable or 'unknown', no source);\n"
                                          "reported as skipped. Revoked is always rejected"},
    {"rim-service", 0, "[=URL]", "NVIDIA: fetch the driver and VBIOS RIMs the report names from the\n"
                                 "RIM service (default https://rim.attestation.nvidia.com/v1/rim/)\n"
                                 "into --cache, verify them and match the measurements"},
    {"rim-trust", 0, "ROOT.pem", "NVIDIA: the RIM root (NVIDIA CoRIM signing Root CA) for --rim,\n"
                                 "--rim-service and RIMs in --cache"},
    {"rim", 0, "FILE", "NVIDIA: a driver or VBIOS RIM to match the measurements against (repeatable)"},
    {"at", 0, "T", "verify as of this RFC 3339 instant (default: now)"},
    {"json", 0, NULL, "print one JSON object (claims and checks)"},
    {"html", 0, "FILE", "also write the console's analysis view as one self-contained HTML file"},
    END};

static const cli_opt appraise_opts[] = {
    {"policy", 0, "FILE", "JSON appraisal policy (docs/policy.md)"},
    {"refvals", 0, "PATH", "reference values: a file or a directory of *.json (repeatable)"},
    {"nonce", 0, "HEX", "expected report data (TDX/SGX/SNP REPORTDATA, CCA realm challenge):\n"
                        "a prefix followed by zeros unless the policy says \"exact\""},
    {"init-data", 0, "HEX", "expected init-data digest (MRCONFIGID, HOST_DATA, CONFIGID, RPV; PCR8 of the\n"
                            "TPM kinds: the SHA-256 digest, bound by one extend)"},
    {"ear-key", 0, "FILE", "EAR signing key (created with mode 0600 when absent)"},
    {"ear-alg", 0, "ALG", "ES256 (default) or ES384"},
    {"ear-out", 0, "FILE|-", "write the EAR (a JWT) there"},
    {"ttl", 0, "SECONDS", "EAR lifetime (exp = iat + ttl; default 300, 0 = no exp)"},
    {"naming", 0, "N", "dotted (default: Trustee/Veraison names) or draft03"},
    {"ear-checks", 0, NULL, "include every appraisal check in the EAR (ear.veritee.appraisal-checks)"},
    {"tee", 0, "T", "as for 'veritee verify'"},
    {"trust", 0, "FILE|DIR", "as for 'veritee verify'"},
    {"collateral", 0, "DIR", "as for 'veritee verify'"},
    {"certs", 0, "FILE|DIR", "as for 'veritee verify'"},
    {"cpak", 0, "FILE", "as for 'veritee verify'"},
    {"product", 0, "NAME", "as for 'veritee verify'"},
    {"at", 0, "T", "as for 'veritee verify'"},
    {"allow-missing-crl", 0, NULL, "as for 'veritee verify'"},
    {"pcs-url", 0, "URL", "as for 'veritee verify'"},
    {"kds-url", 0, "URL", "as for 'veritee verify'"},
    {"cache", 0, "DIR", "as for 'veritee verify'"},
    {"gpu-evidence", 0, "FILE", "NVIDIA GPUs beside the CPU evidence (Trustee's device_evidence_list\n"
                                "JSON): each verified GPU is its own submod (gpuN), appraised by the\n"
                                "policy's nvidia section (ppcie_topology across them); the CPU's by\n"
                                "nvidia.gpus/min_gpus"},
    {"gpu-nonce", 0, "HEX", "the GPU nonce expected in every report (first 32 bytes; default: not checked)"},
    {"ocsp-response", 0, "FILE|DIR", "as for 'veritee verify' (NVIDIA device chains, offline)"},
    {"ocsp", 0, "[=URL]", "as for 'veritee verify' (with --gpu-evidence; answers cached in --cache)"},
    {"crl", 0, "FILE", "as for 'veritee verify' (with --gpu-evidence)"},
    {"allow-revocation-unknown", 0, NULL, "as for 'veritee verify' (with --gpu-evidence; the policy's\n"
                                          "collateral.require_revocation_check then decides)"},
    {"rim-service", 0, "[=URL]", "as for 'veritee verify' (with --gpu-evidence; RIMs cached in --cache)"},
    {"rim-trust", 0, "ROOT.pem", "as for 'veritee verify' (with --gpu-evidence; with --cache alone, RIMs\n"
                                 "come from the cache)"},
    {"rim", 0, "FILE", "as for 'veritee verify' (with --gpu-evidence)"},
    {"json", 0, NULL, "JSON output"},
    END};

static const cli_opt ear_verify_opts[] = {
    {"key", 0, "PUB", "PEM public or private key, certificate, JWK or JWKS (never the token's own key)"},
    {"at", 0, "T", "check iat/exp as of this RFC 3339 instant (default: now)"},
    {"max-age", 0, "S", "reject tokens issued more than S seconds ago"},
    {"require-exp", 0, NULL, "reject tokens without exp"},
    {"require-affirming", 0, NULL, "exit 1 unless every submod is affirming"},
    {"json", 0, NULL, "print the claims as JSON"},
    END};
static const cli_opt ear_key_opts[] = {
    {"key", 0, "FILE", "the signing key (created, mode 0600, when absent)"},
    {"alg", 0, "ALG", "ES256 (default) or ES384"},
    {"pub", 0, "OUT", "write its public half as PEM for relying parties"},
    END};

static const cli_opt json_only[] = {{"json", 0, NULL, "JSON output"}, END};

static const cli_opt replay_opts[] = {
    {"quote", 0, "QUOTE", "compare the replayed RTMRs with this quote's (exit 1 on a mismatch)"},
    {"json", 0, NULL, "JSON output"},
    END};

static const cli_opt snp_show_opts[] = {
    {"product", 0, "P", "milan, genoa or turin: decode TCB values for this product\n"
                        "(default: from the report's CPUID fields)"},
    {"json", 0, NULL, "JSON output"},
    END};

static const cli_opt measure_snp_opts[] = {
    {"firmware", 0, "OVMF.fd", "the OVMF image exactly as given to QEMU -bios (its tables drive the rest)"},
    {"vcpus", 0, "N", "number of vCPUs (default 1); one VMSA page each"},
    {"vcpu-type", 0, "MODEL", "QEMU -cpu model: EPYC, EPYC-v4, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin"},
    {"vcpu-sig", 0, "HEX", "CPUID(1).EAX instead of a model (e.g. for -cpu host)"},
    {"vmm", 0, "V", "qemu (default), ec2 or gce: their VMSA defaults and page types differ"},
    {"guest-features", 0, "HEX", "SEV_FEATURES (default 0x1: QEMU >= 9.1; Linux 6.6-era KVM gives 0x21)"},
    {"mode", 0, "M", "snp (default), seves or sev (SHA-256 GCTX digests), ovmf-hash (firmware pages only)"},
    {"ovmf-hash", 0, "HEX", "precomputed firmware-pages digest (48 bytes) to start from"},
    {"kernel", 0, "K", "QEMU kernel-hashes=on input (firmware needs SNP_KERNEL_HASHES)"},
    {"initrd", 0, "I", "as --kernel"},
    {"append", 0, "STR", "as --kernel: the kernel command line"},
    {"id-key", 0, "PEM", "also build the ID block / ID auth signed with this P-384 key"},
    {"author-key", 0, "PEM", "ID auth: the author key"},
    {"family-id", 0, "HEX", "ID block FAMILY_ID (16 bytes)"},
    {"image-id", 0, "HEX", "ID block IMAGE_ID (16 bytes)"},
    {"guest-svn", 0, "N", "ID block GUEST_SVN"},
    {"policy", 0, "HEX", "ID block guest POLICY"},
    {"hex", 0, NULL, "print only the digest, one line"},
    END};
static const cli_opt measure_tdx_opts[] = {
    {"firmware", 0, "TDVF.fd", "TDVF (OVMF built for TDX) exactly as given to QEMU: MRTD from its\n"
                               "TDVF metadata (TDH.MEM.PAGE.ADD + TDH.MR.EXTEND records, SHA-384)"},
    {"page-order", 0, "O", "single (default: per page, add then extend; upstream KVM) or\n"
                           "two-pass (per section, all adds then all extends; older TDX KVM)"},
    {"event-log", 0, "FILE", "CCEL event log (e.g. /sys/firmware/acpi/tables/data/CCEL):\n"
                             "RTMR0-3 replayed from it"},
    {"hex", 0, NULL, "one line per value (MRTD, then RTMR0-3)"},
    END};
static const cli_opt measure_cca_opts[] = {
    {"realm-config", 0, "FILE.json", "the realm parameters (see below)"},
    {"kernel", 0, "K", "the kernel image loaded at kernel_ipa"},
    {"initrd", 0, "I", "the initrd loaded at initrd_ipa"},
    {"dtb", 0, "D", "the device tree loaded at dtb_ipa"},
    {"hex", 0, NULL, "one line: the RIM"},
    END};

static const cli_opt vm_plan_opts[] = {
    {"libvirt", 0, NULL, "print libvirt domain XML instead of the QEMU argv"},
    {"json", 0, NULL, "JSON output"},
    {"no-check-files", 0, NULL, "do not warn about firmware/kernel/disk files missing on this host"},
    {"measure", 0, NULL, "also compute the launch measurement the VM must show (reads the firmware)"},
    END};
static const cli_opt vm_create_opts[] = {
    {"libvirt", 0, NULL, "define the VM in libvirt"},
    {"connect", 0, "URI", "libvirt connection URI"},
    END};
static const cli_opt vm_timeout_opts[] = {
    {"timeout", 0, "SEC", "bound on QEMU start, QMP and stop (default 30)"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt vm_stop_opts[] = {
    {"force", 0, NULL, "QMP quit now, without the ACPI powerdown"},
    {"timeout", 0, "SEC", "bound on the graceful stop (default 30)"},
    END};

static const cli_opt audit_verify_opts[] = {
    {"db", 0, "URL", "sqlite:PATH or postgres://user@host:port/db (opened read-only; never created)"},
    {"anchor", 0, "SEQ:HASH", "a head printed by an earlier 'audit verify', kept off the host:\n"
                              "proves the log was not truncated and rewritten since"},
    {"archive", 0, "FILE", "an archive written by 'audit archive'; repeat, oldest first, to check the\n"
                           "whole history: the archives chain from record 1 to the store's first record"},
    {"archive-dir", 0, "DIR", "every audit-*.jsonl in DIR (as 'audit archive --out-dir' writes them), put in\n"
                              "order by the record each file's header starts after, not by name; a gap or an\n"
                              "overlap between two files is named. Excludes --archive"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt audit_archive_opts[] = {
    {"db", 0, "URL", "sqlite:PATH or postgres://user@host:port/db (must exist; never created)"},
    {"out", 0, "FILE", "the archive to write (JSON Lines, mode 0600; an existing file is never overwritten)"},
    {"out-dir", 0, "DIR", "write the archive into DIR under a name of its own,\n"
                          "audit-FIRST-LAST.jsonl (record numbers, 19 digits: names sort as the log);\n"
                          "one run at a time per DIR (a lock). The audit-*.jsonl already there are\n"
                          "read first (each must be an archive): one whose cut an earlier run left\n"
                          "unfinished is checked against the store and its cut finished. Excludes --out"},
    {"keep", 0, "N", "archive all but the newest N records"},
    {"before", 0, "TIME", "archive the records before the first one at or after TIME (RFC 3339)"},
    {"older-than", 0, "DURATION", "archive the records older than DURATION: a number and one unit, s, m, h, d\n"
                                  "or w (30d, 12h, 90m); more than 0, at most 100 years"},
    {"at", 0, "TIME", "the instant --older-than counts back from (RFC 3339; default: now)"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt audit_show_opts[] = {
    {"db", 0, "URL", "sqlite:PATH or postgres://user@host:port/db (opened read-only; never created)"},
    {"tail", 0, "N", "the last N records (default 20)"},
    {"json", 0, NULL, "JSON output"},
    END};

static const cli_opt store_rekey_opts[] = {
    {"db", 0, "URL", "sqlite:PATH or postgres://... (must exist)"},
    {"kek-file", 0, "CURRENT", "the key-encryption key the store is sealed under"},
    {"new-kek-file", 0, "NEW", "the new key-encryption key"},
    END};

static const cli_opt emulate_init_opts[] = {
    {"platform", 0, "FILE", "platform description (JSON); default: the built-in one\n"
                            "(`veritee emulate show` of a fresh directory shows it)"},
    {"at", 0, "T", "instant the certificates and collateral are valid around (default now)"},
    END};

static const cli_opt emulate_azure_opts[] = {
    {"tee", 0, "T", "az-snp-vtpm or az-tdx-vtpm"},
    {"tcti", 0, "TCTI", "the TPM to provision, e.g. swtpm:host=127.0.0.1,port=2321"},
    {"out", 0, "DIR", "where the firmware log, the agent's log and the IMDS answers go"},
    {"init-data", 0, "HEX", "a 32-byte init-data hash extended into PCR 8"},
    {"aael", 0, "TEXT", "an AAEL entry \"<domain> <operation> <content>\" extended into PCR 23\n"
                        "and logged in DIR/aa_eventlog (repeatable, up to 8)"},
    END};

static const cli_opt evidence_get_opts[] = {
    {"tee", 0, "T", "tdx, snp, cca (default: the configfs-tsm provider's); az-snp-vtpm,\n"
                    "az-tdx-vtpm (an Azure CVM's evidence JSON, docs/azure.md), tpm (a TPM quote);\n"
                    "nvidia (the GPUs through NVML, or the emulator's: Trustee's device_evidence_list\n"
                    "JSON; the first 32 bytes of the report data are the GPU nonce, docs/nvidia.md)"},
    {"report-data", 0, "HEX", "up to 64 bytes bound into the evidence (zero-padded to 64)"},
    {"nonce", 0, "HEX", "the same as --report-data: hex, as in verify/appraise --nonce"},
    {"nonce-text", 0, "STR", "report data = SHA-512(STR) (a text nonce)"},
    {"provider", 0, "P", "auto (default): emulated with --emulator, vtpm for the vTPM TEEs,\n"
                         "nvml for nvidia, else configfs-tsm when present, else the legacy\n"
                         "device ioctl; or tsm, ioctl, vtpm, nvml, emulated"},
    {"emulator", 0, "DIR", "the emulated TEE made by `veritee emulate init`"},
    {"nvml", 0, "LIB", "nvidia: the NVML library to load (default $VERITEE_NVML, else\n"
                       "libnvidia-ml.so.1 from the NVIDIA driver)"},
    {"tsm-root", 0, "DIR", "configfs-tsm report root (default " VT_TSM_ROOT_DEFAULT ")"},
    {"tsm-entry", 0, "NAME", "use this report instance (default: a private one, removed after)"},
    {"device", 0, "PATH", "ioctl device (default /dev/tdx_guest, /dev/sev-guest)"},
    {"vmpl", 0, "N", "SNP: VMPL / configfs privlevel of the request"},
    {"extended", 0, NULL, "SNP: append the certificate table (VCEK, ASK, ARK) to the report"},
    {"aux-out", 0, "FILE", "SNP: write the certificate table (the configfs auxblob) to FILE"},
    {"quote-version", 0, "V", "TDX emulated: quote v4 or v5"},
    {"report-version", 0, "V", "SNP emulated: report version 2, 3 or 5"},
    {"token-tag", 0, "T", "CCA emulated: 399 (legacy collection) or 907 (CMW collection)"},
    {"realm", 0, "NAME", "CCA emulated: an existing realm of the emulator (its RAK and claim overrides)"},
    {"create-realm", 0, NULL, "CCA emulated: create --realm when it does not exist yet"},
    {"aael", 0, "TEXT", "Azure emulated: an AAEL entry \"<domain> <operation> <content>\" extended\n"
                        "into PCR 23 and logged in cc_eventlog (repeatable, up to 8)"},
    {"init-data", 0, "HEX", "Azure emulated: the 32-byte init-data hash bound into PCR8"},
    {"tcti", 0, "TCTI", "vtpm: the TPM, as tpm2-tss takes it (default $TPM2TOOLS_TCTI, $TCTI,\n"
                        "else device:/dev/tpmrm0; swtpm:host=H,port=P for a software TPM)"},
    {"ak-handle", 0, "HEX", "vtpm: the AK's persistent handle (default 81000003 on Azure,\n"
                            "81010002 for --tee tpm)"},
    {"imds-url", 0, "URL", "Azure: IMDS for the VCEK / TD quote (default http://169.254.169.254)"},
    {"imds-dir", 0, "DIR", "Azure: read vcek.der / td_quote.bin from DIR instead of IMDS"},
    {"event-log", 0, "FILE", "vtpm: the firmware TCG2 log sent as cc_eventlog (default\n"
                             VT_VTPM_EVENT_LOG_DEFAULT ", when present)"},
    {"aa-eventlog", 0, "FILE", "vtpm: the attestation agent's log appended to it (default\n"
                               VT_AA_EVENT_LOG_DEFAULT ", when present)"},
    {"output", 'o', "FILE", "write the evidence there (default: stdout, binary)"},
    END};
static const cli_opt evidence_extend_opts[] = {
    {"rtmr", 0, "N", "RTMR 0..3 (firmware and boot own 0-2; applications use 3)"},
    {"digest", 0, "HEX", "the 48-byte SHA-384 digest to extend with"},
    {"data-file", 0, "FILE", "extend with SHA-384 of this file instead"},
    {"event", 0, "TEXT", "event data recorded in the log (default: the file name or empty)"},
    {"log", 0, "FILE", "runtime event log (TCG crypto-agile, replayable like the CCEL)"},
    {"mr-dir", 0, "DIR", "tsm-mr directory (default " VT_TDX_MR_DIR_DEFAULT ")"},
    {"pcr", 0, "N", "a TPM PCR 0..23 instead of an RTMR (Azure CVMs, TPM hosts); with --aael and\n"
                    "--log as the attestation agent does, or a bare --digest (32 bytes)"},
    {"aael", 0, "TEXT", "with --pcr: the AAEL entry \"<domain> <operation> <content>\" to extend\n"
                        "(EV_EVENT_TAG, SHA-256) and log in the TCG2 log --log"},
    {"tcti", 0, "TCTI", "with --pcr: the TPM (default $TPM2TOOLS_TCTI, $TCTI, device:/dev/tpmrm0)"},
    END};

static const cli_opt serve_opts[] = {
    {"listen", 0, "ADDR:PORT", "where to listen, e.g. 127.0.0.1:8080"},
    {"db", 0, "URL", "sqlite:PATH or postgres://... (created when absent)"},
    {"trust", 0, "DIR", "trust anchors for the verifiers (as verify --trust)"},
    {"collateral", 0, "DIR", "collateral for the verifiers (as verify --collateral)"},
    {"cache", 0, "DIR", "collateral cache (docs/collateral.md): read, and with an upstream kept\n"
                        "fresh in the background; an arriving quote whose platform it lacks is\n"
                        "fetched once, the guest waiting at most 5 s"},
    {"pcs-url", 0, "URL", "Intel PCS for TDX/SGX collateral"},
    {"pccs-url", 0, "URL", "a PCCS for TDX/SGX collateral"},
    {"pccs-cacert", 0, "FILE", "CA of the PCCS's HTTPS certificate"},
    {"pccs-insecure", 0, NULL, "accept any PCCS certificate (the collateral is still verified)"},
    {"pcs-api-key", 0, "KEY", "Ocp-Apim-Subscription-Key for Intel PCS"},
    {"tpm-ak", 0, "FILE|DIR", "trusted TPM attestation keys (PEM public keys or certificates): with\n"
                              "it the tee 'tpm' is accepted (docs/azure.md); az-*-vtpm need none"},
    {"collateral-refresh", 0, "S", "seconds between background refresh passes (default 300)"},
    {"collateral-retry", 0, "S", "first back-off after a failed refresh (doubles to 1 h; default 60)"},
    {"kds-url", 0, "URL", "AMD KDS for SNP VCEKs, chains and CRLs: with --cache, fetched on\n"
                          "demand and refreshed in the background like TDX collateral"},
    {"admin-key", 0, "PUB.pem", "admin public key (EC P-256 or Ed25519); without it the admin API is refused"},
    {"trustee-admin-compat", 0, "PUB.pem", "also accept Trustee kbs-client admin tokens signed by this Ed25519\n"
                                           "key for set-resource, set-resource-policy and set-attestation-policy\n"
                                           "(opt-in; tokens bind no request: docs/coco.md)"},
    {"kek-file", 0, "PATH", "key-encryption key for stored secrets (or VERITEE_KEK; else ephemeral)"},
    {"ear-key", 0, "FILE", "EAR signing key (P-256 PEM; created when absent; else ephemeral)"},
    {"policy", 0, "FILE", "attestation policy used until the admin stores one"},
    {"config", 0, "FILE", "JSON config file (keys as the long options, '-' as '_'); flags win"},
    {"tls-cert", 0, "F", "serve HTTPS with this certificate (PEM)"},
    {"tls-key", 0, "F", "... and this private key (PEM)"},
    {"token-lifetime", 0, "S", "EAR token lifetime (default 300)"},
    {"session-lifetime", 0, "S", "RCAR session lifetime (default 300)"},
    {"max-body", 0, "BYTES", "request body limit (default 2 MiB)"},
    {"rate", 0, "R", "per-client requests per second (default: no limit)"},
    {"burst", 0, "N", "per-client burst (with --rate)"},
    {"sweep", 0, "S", "expired-session sweep period (default 60)"},
    {"audit-check-window", 0, "N", "the console's audit view checks the chain after its last check; a first\n"
                                   "check, or one with more than N new records, checks the newest N\n"
                                   "(default 200000, about 0.5 s)"},
    {"max-sessions", 0, "N", "live RCAR sessions awaiting attestation at most; /auth answers 503 over it (default 10000)"},
    {"max-sessions-per-client", 0, "N", "such sessions from one address; 429 over it (default 256)"},
    {"token-skew", 0, "S", "clock skew allowed on a bearer token's iat/exp (default 5, at most 300)"},
    {"max-connections", 0, "N", "open connections at most (default 256)"},
    {"http-threads", 0, "N", "a pool of N HTTP workers (default 0: a thread per connection)"},
    {"db-pool", 0, "N", "PostgreSQL connections this node keeps (default 4; SQLite uses one)"},
    {"max-connections-per-ip", 0, "N", "open connections from one address (default 16)"},
    {"idle-timeout", 0, "S", "close a connection idle this long (default 30)"},
    {"header-timeout", 0, "S", "request line and headers must arrive within S (default 10)"},
    {"body-timeout", 0, "S", "the body must arrive within S of the headers (default 30)"},
    {"max-body-memory", 0, "BYTES", "request bodies held at once, all clients (default 64 MiB; 503 over it)"},
    {"log", 0, "FILE|-", "JSON-lines log of requests and server messages (- = stderr; default: none)"},
    {"allow-missing-crl", 0, NULL, "TDX: accept PCK chains without a CRL (said in the checks)"},
    {"nvidia-ocsp", 0, "DIR", "NVIDIA GPUs: DER OCSP responses for the device chains (every file in DIR;\n"
                              "a revoked certificate refuses its GPU; docs/nvidia.md)"},
    {"nvidia-ocsp-url", 0, "URL", "NVIDIA GPUs: ask this OCSP responder ('nvidia': https://ocsp.ndis.nvidia.com/)\n"
                                  "about every device (and RIM signer) certificate no --nvidia-ocsp response\n"
                                  "covers; answers kept in the cache and reused while valid; responder down\n"
                                  "and nothing cached: the GPU is refused"},
    {"nvidia-rim-url", 0, "URL", "NVIDIA GPUs: fetch the driver and VBIOS RIMs each report names from this RIM\n"
                                 "service ('nvidia': https://rim.attestation.nvidia.com/v1/rim/) into the cache\n"
                                 "and match every GPU's measurements (needs --nvidia-rim-trust)"},
    {"nvidia-rim-trust", 0, "ROOT.pem", "NVIDIA GPUs: the RIM root (NVIDIA CoRIM signing Root CA); with it alone,\n"
                                        "RIMs come from the cache only (DIR/nvidia/rim/<id>.swidtag)"},
    {"nvidia-cache", 0, "DIR", "NVIDIA GPUs: cache of OCSP answers and RIMs, DIR/nvidia/{ocsp,rim}\n"
                               "(default: --cache); every item verified again when used"},
    {"nvidia-timeout", 0, "S", "NVIDIA GPUs: bound of each OCSP or RIM service request (1..60, default 5)"},
    {"nvidia-allow-revocation-unknown", 0, NULL, "NVIDIA GPUs: a certificate whose status is unknown (responder\n"
                                                 "down, no source) passes with its check skipped; the policy's\n"
                                                 "collateral.require_revocation_check then decides. Revoked is\n"
                                                 "always refused"},
    {"insecure-sample-tee", 0, NULL, "accept the 'sample' TEE (tests only; never in production)"},
    {"explore-rate", 0, "R", "console explorer: requests per second per client (default 2)"},
    {"explore-burst", 0, "N", "console explorer: their burst (default 20)"},
    {"ui", 0, NULL, "serve the web console at / (docs/console.md); default: on when listening\n"
                    "on a loopback address, off otherwise"},
    {"no-ui", 0, NULL, "do not serve the web console"},
    END};

static const cli_opt admin_opts[] = {
    {"kbs", 0, "URL", "the KBS, e.g. http://127.0.0.1:8080"},
    {"key", 0, "PRIV.pem", "the admin private key (its public half is serve --admin-key)"},
    {"sub", 0, "NAME", "the admin token's subject, recorded in the audit log (default 'admin')"},
    {"cacert", 0, "FILE", "HTTPS: trust the KBS certificate's CA from this PEM file"},
    END};

static const cli_opt attest_opts[] = {
    {"kbs", 0, "URL", "the KBS (veritee serve or Trustee), e.g. http://127.0.0.1:8080;\n"
                      "repeated: nodes sharing one store, requests rotate over them"},
    {"resource", 0, "PATH", "fetch this secret (REPO/TYPE/TAG) after attesting (repeatable; none: attest only)"},
    {"tee", 0, "T", "TEE of this guest: tdx, snp, cca, az-snp-vtpm, az-tdx-vtpm, tpm\n"
                    "(default: the configfs-tsm provider's)"},
    {"provider", 0, "P", "auto (default): vtpm for az-snp-vtpm, az-tdx-vtpm, tpm; emulated with\n"
                         "--emulator; else configfs-tsm when present, else the SNP guest ioctl"},
    {"emulator", 0, "DIR", "the emulated TEE made by `veritee emulate init` (test only)"},
    {"gpu-evidence", 0, "SRC", "also attest GPUs (additional evidence, docs/nvidia.md): 'nvml' (this\n"
                               "guest's GPUs through NVML, over the session's GPU nonce), 'emulated'\n"
                               "(the --emulator's GPUs over that nonce) or a FILE of Trustee's\n"
                               "device_evidence_list JSON sent as it is"},
    {"nvml", 0, "LIB", "the NVML library for --gpu-evidence nvml (default $VERITEE_NVML, else\n"
                       "libnvidia-ml.so.1 from the NVIDIA driver)"},
    {"key-type", 0, "K", "ephemeral TEE key: ec (P-256, ECDH-ES+A256KW; default) or rsa\n"
                         "(RSA-2048, RSA-OAEP-256)"},
    {"output", 'o', "FILE", "write the secret to FILE (mode 0600; one --resource); default stdout"},
    {"bearer", 0, NULL, "fetch with Authorization: Bearer <token> instead of the session cookie"},
    {"token-out", 0, "FILE", "write the attestation token (EAR JWT) to FILE"},
    {"timeout", 0, "S", "per-request timeout in seconds (default 20)"},
    {"retries", 0, "N", "when the KBS cannot be reached, breaks off or answers 429/5xx, begin the\n"
                        "round again from /auth up to N more times (default 3; 0: never)"},
    {"cacert", 0, "FILE", "HTTPS: trust the KBS certificate's CA from this PEM file"},
    {"realm", 0, "NAME", "CCA emulated: an existing realm of the emulator"},
    {"tsm-root", 0, "DIR", "configfs-tsm report root"},
    {"device", 0, "PATH", "ioctl device"},
    {"tcti", 0, "TCTI", "vtpm: the TPM (default $TPM2TOOLS_TCTI, $TCTI, else device:/dev/tpmrm0)"},
    {"ak-handle", 0, "HEX", "vtpm: the AK's persistent handle (default 81000003 Azure, 81010002 tpm)"},
    {"imds-url", 0, "URL", "Azure: IMDS for the VCEK / TD quote (default http://169.254.169.254)"},
    {"imds-dir", 0, "DIR", "Azure: vcek.der / td_quote.bin from DIR instead of IMDS"},
    {"event-log", 0, "FILE", "the firmware log sent as cc_eventlog (default: the TPM's\n"
                             "binary_bios_measurements; TDX: the ACPI CCEL; each when present; '' none)"},
    {"aa-eventlog", 0, "FILE", "the attestation agent's log appended to it (default\n"
                               "/run/attestation-agent/eventlog when present; '' none)"},
    {"init-data", 0, "TOML", "CoCo init-data (the decoded initdata annotation) sent with the evidence;\n"
                             "the KBS checks its digest against what the TEE bound (PCR 8 on a vTPM)"},
    {"verbose", 'v', NULL, "say what happens on stderr; on refusal, the EAR status and failing checks"},
    END};

#define COLL_UPSTREAM                                                                              \
    {"pcs-url", 0, "URL", "Intel PCS v4 (https://api.trustedservices.intel.com)"},                   \
    {"pccs-url", 0, "URL", "a PCCS (its /sgx/certification/v4/... API)"},                             \
    {"pccs-cacert", 0, "FILE", "trust only this CA for the PCCS's HTTPS certificate"},                \
    {"pccs-insecure", 0, NULL, "accept any HTTPS certificate of the PCCS (self-signed); the\n"        \
                               "collateral itself is still verified against the Intel root"},         \
    {"api-key", 0, "KEY", "Intel PCS subscription key (Ocp-Apim-Subscription-Key)"},                 \
    {"kds-url", 0, "URL", "AMD KDS (https://kdsintf.amd.com) for SEV-SNP VCEKs, chains, CRLs"},       \
    {"trust", 0, "FILE", "trust anchors (PEM): the Intel SGX Root CA and/or AMD ARKs;\n"              \
                         "default: the pinned Intel root and ARKs of Milan, Genoa, Turin"}
static const cli_opt coll_fetch_opts[] = {
    COLL_UPSTREAM,
    {"cache", 0, "DIR", "the collateral cache"},
    {"platform", 0, "T:F:C", "a platform by TEE (tdx, sgx), FMSPC (12 hex) and PCK CA\n"
                             "(platform, processor), e.g. tdx:B0C06F000000:platform; or an\n"
                             "SNP one: snp:PRODUCT (chains, CRL), snp:PRODUCT:vlek,\n"
                             "snp:PRODUCT:HWID:TCB (with the VCEK; TCB = raw TCB_VERSION hex)"},
    {"chip", 0, "HEX", "SNP: the CHIP_ID (hwID; Turin: 16 hex digits) of a VCEK to fetch"},
    {"tcb", 0, "HEX", "SNP: with --chip, the reported TCB (raw TCB_VERSION, e.g. 0x...)"},
    {"product", 0, "NAME", "SNP: milan, genoa or turin (with --chip; for version-2 reports)"},
    {"force", 0, NULL, "fetch even items that are fresh"},
    {"at", 0, "T", "the instant (RFC 3339) for validity checks (default: now)"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt coll_refresh_opts[] = {
    COLL_UPSTREAM,
    {"cache", 0, "DIR", "the collateral cache"},
    {"force", 0, NULL, "fetch even items that are fresh"},
    {"margin", 0, "SECONDS", "refresh items expiring within this (default 7 days)"},
    {"at", 0, "T", "the instant (RFC 3339) for validity checks (default: now)"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt coll_show_opts[] = {
    {"cache", 0, "DIR", "the collateral cache"},
    {"at", 0, "T", "the instant (RFC 3339) for validity checks (default: now)"},
    {"json", 0, NULL, "JSON output"},
    END};
static const cli_opt coll_prune_opts[] = {
    {"cache", 0, "DIR", "the collateral cache"},
    {"grace", 0, "SECONDS", "remove items expired for longer than this (default 30 days)"},
    {"at", 0, "T", "the instant (RFC 3339) for validity checks (default: now)"},
    END};
#define COLL_EXITS                                                                          \
    "0 done, 1 an answer failed its check (the cache keeps the previous item),\n"           \
    "2 usage, 3 upstream unreachable or no such collateral"

#define RIM_REVOCATION_OPTS                                                                                  \
    {"ocsp", 0, "[=URL]", "check the signer chain with the OCSP responder\n"                                  \
                          "(default https://ocsp.ndis.nvidia.com/), responses cached in --cache"},            \
    {"ocsp-response", 0, "FILE", "a DER OCSP response to use offline (repeatable)"},                          \
    {"crl", 0, "FILE", "a CRL (DER or PEM) of an issuer in the signer chain (repeatable)"},                   \
    {"allow-revocation-unknown", 0, NULL, "accept revocation status unknown (reported as skipped)"},          \
    {"cache", 0, "DIR", "cache of OCSP responses and RIMs (DIR/nvidia/{ocsp,rim})"}
static const cli_opt rim_verify_opts[] = {
    {"trust", 0, "ROOT.pem", "the pinned RIM root (NVIDIA CoRIM signing Root CA, PEM)"},
    {"at", 0, "T", "evaluate certificate validity at this instant (default: now)"},
    {"json", 0, NULL, "JSON output"},
    RIM_REVOCATION_OPTS,
    END};
static const cli_opt rim_fetch_opts[] = {
    {"trust", 0, "ROOT.pem", "the pinned RIM root (NVIDIA CoRIM signing Root CA, PEM)"},
    {"service", 0, "URL", "the RIM service (default https://rim.attestation.nvidia.com/v1/rim/)"},
    {"offline", 0, NULL, "only the cache: never ask the RIM service"},
    {"output", 'o', "DIR", "also write each verified RIM to DIR/<ID>.swidtag"},
    {"at", 0, "T", "evaluate certificate validity at this instant (default: now)"},
    {"json", 0, NULL, "JSON output"},
    RIM_REVOCATION_OPTS,
    END};
static const cli_opt rim_match_opts[] = {
    {"trust", 0, "ROOT.pem", "the pinned RIM root (PEM)"},
    {"at", 0, "T", "evaluate certificate validity at this instant (default: now)"},
    {"json", 0, NULL, "JSON output"},
    {"driver", 0, "RIM", "the driver RIM"},
    {"vbios", 0, "RIM", "the VBIOS RIM"},
    {"device-trust", 0, "ROOT.pem", "the NVIDIA device root PEM (default: the built-in pin)"},
    {"nonce", 0, "HEX", "expected GPU nonce of the evidence"},
    END};
static const cli_opt gpu_evidence_opts[] = {
    {"nonce", 0, "HEX", "1..64 bytes; the first 32 (zero-padded) are the GPU nonce"},
    {"output", 'o', "FILE", "write the evidence there (default: stdout)"},
    END};

static const cli_opt ui_opts[] = {
    {"listen", 0, "ADDR:PORT", "where to listen (default 127.0.0.1:8088; port 0: any free port)"},
    {"trust", 0, "DIR", "trust anchors (as verify --trust; default: built-in vendor roots)"},
    {"collateral", 0, "DIR", "collateral used when a request brings none (as verify --collateral)"},
    {"certs", 0, "DIR", "SNP: more certificates (as verify --certs)"},
    {"allow-missing-crl", 0, NULL, "TDX: accept PCK chains without a CRL (said in the checks)"},
    {"log", 0, "FILE|-", "JSON-lines request log (- = stderr)"},
    {"explore-rate", 0, "R", "explore requests per second per client (default 2)"},
    {"explore-burst", 0, "N", "their burst (default 20)"},
    END};

static const cli_opt platform_opts[] = {
    {"json", 0, NULL, "JSON output"},
    {"root", 0, "DIR", "read this directory tree instead of / (tests)"},
    END};

static const char exit_verify[] =
    "0 verified, 1 rejected, 2 unusable input or arguments, 3 collateral or trust anchors missing";
static const char exit_all[] =
    "0 ok, 1 rejected (a verification or policy check failed, or the server refused),\n"
    "2 usage or unusable input, 3 something needed is missing or unreachable (collateral,\n"
    "trust anchor, store, file, server): provide or fetch it and retry";

const cli_cmd cli_commands[] = {
    {"verify", "verify TEE evidence (TDX/SGX quote, SNP report, CCA token, NVIDIA GPU, Azure vTPM, TPM)",
     "[options] FILE|-",
     "FILE is the evidence; - reads it from standard input. Every option is enforced for every\n"
     "kind of evidence it applies to; one that cannot apply to the evidence given (--product,\n"
     "--kds-url for TDX; --pcs-url for SNP; --cpak, --allow-missing-crl for CCA ...) is refused\n"
     "(exit 2), never ignored. A verification that fetches nothing (no --pcs-url, --kds-url,\n"
     "--ocsp, --rim-service) does not read the system openssl.cnf; OPENSSL_CONF=FILE is read.",
     verify_opts, exit_verify, cmd_verify},
    {"appraise", "verify evidence and appraise it against a policy; write a signed EAR",
     "--policy FILE [options] EVIDENCE...",
     "Verifies each piece of evidence (as 'veritee verify'), appraises its claims against the\n"
     "policy and prints the result; with --ear-out, writes the EAR attestation result as a JWT\n"
     "signed with --ear-key (generated with mode 0600 when the file does not exist). The other\n"
     "options are those of 'veritee verify' (one verification entry); an option none of the\n"
     "evidence can use is refused (exit 2).",
     appraise_opts,
     "0 affirming, 1 otherwise (warning, contraindicated, none, or rejected evidence),\n"
     "2 unusable input or arguments, 3 collateral or trust anchors missing",
     cmd_appraise},
    {"ear", "verify an EAR attestation result; create/export its signing key", "verify|key|show ...", NULL,
     NULL, NULL, cmd_ear},
    {"ear verify", "check an EAR's signature, profile, times and every submod's status",
     "--key PUB [options] TOKEN|-",
     "Checks the JWS signature with PUB, the eat_profile, iat/exp (60 s skew) and every\n"
     "submod's status and trustworthiness vector; prints the claims.",
     ear_verify_opts,
     "0 valid (and affirming with --require-affirming), 1 a check failed (signature, times, status),\n"
     "2 usage or a malformed token, 3 the key or token file is missing",
     NULL},
    {"ear key", "load the EAR signing key, creating it when absent; export its public half",
     "--key FILE [--alg ES256|ES384] [--pub OUT]", NULL, ear_key_opts, NULL, NULL},
    {"ear show", "print an EAR's header and claims WITHOUT verifying anything", "TOKEN|-", NULL, NULL, NULL, NULL},
    {"tdx", "TDX tools", "replay-rtmr ...", NULL, NULL, NULL, cmd_tdx},
    {"tdx replay-rtmr", "replay a TDX CC event log (CCEL) into RTMR0..3",
     "[--quote QUOTE] [--json] [CCEL_TABLE] EVENT_LOG",
     "Replays the log and prints RTMR0..3. With --quote, compares them with the quote's RTMRs.\n"
     "CCEL_TABLE, the ACPI CCEL table, bounds the log to its declared length.",
     replay_opts, "0 replayed (and all four match with --quote), 1 a mismatch, 2 unusable input", NULL},
    {"snp", "SEV-SNP tools", "show ...", NULL, NULL, NULL, cmd_snp},
    {"snp show", "print every decoded field of an SEV-SNP report (not verified)",
     "[--product milan|genoa|turin] [--json] REPORT", NULL, snp_show_opts, NULL, NULL},
    {"cca", "CCA tools", "show ...", NULL, NULL, NULL, cmd_cca},
    {"cca show", "print every claim of a CCA token, parsed but NOT verified", "[--json] TOKEN",
     "Use 'veritee verify --tee cca' to verify.", json_only, NULL, NULL},
    {"rim", "NVIDIA GPU reference integrity manifests (verify, fetch, match)", "verify|fetch|match [options]", NULL, NULL,
     "0 verified/matched, 1 rejected or mismatched, 2 unusable input, 3 trust or a RIM missing", cmd_rim},
    {"rim verify", "check each RIM's XML signature and its signer chain to the pinned RIM root",
     "--trust ROOT.pem [--at RFC3339] [--json] RIM.swidtag...",
     "Each RIM's enveloped XML signature (ecdsa-sha384, C14N) and its signer chain to the pinned\n"
     "RIM root (NVIDIA CoRIM signing Root CA) at --at.",
     rim_verify_opts, "0 verified, 1 rejected, 2 unusable input, 3 trust or a RIM missing", NULL},
    {"rim fetch", "get RIMs by id from the cache or NVIDIA's RIM service, verified before caching",
     "--trust ROOT.pem [--service URL] [--cache DIR] [--offline] [-o DIR] [--at T] [--json] ID...",
     "ID is a RIM id as 'veritee verify --tee nvidia --json' derives it from a report\n"
     "(NV_GPU_DRIVER_GH100_<driver>, NV_GPU_VBIOS_<PROJECT>_<SKU>_<CHIP_SKU>_<VBIOS>). A cached RIM\n"
     "is used while it verifies at --at; otherwise it is fetched, verified, then cached.",
     rim_fetch_opts, "0 all fetched and verified, 1 a RIM rejected, 2 unusable input, 3 a RIM missing or the\n"
     "service unreachable", NULL},
    {"rim match", "verify the RIMs, then match a GPU report's measurements against them",
     "--trust ROOT.pem [--at RFC3339] [--json] [--driver RIM] [--vbios RIM] [--device-trust ROOT.pem] [--nonce HEX] REPORT",
     "REPORT is Trustee's GPU evidence JSON, verified first as by 'veritee verify --tee nvidia'\n"
     "(its first device is matched), or a bare report (hex text or raw bytes), which is only\n"
     "parsed, NOT verified.",
     rim_match_opts, "0 matched, 1 rejected or mismatched, 2 unusable input, 3 trust or a RIM missing", NULL},
    {"measure", "precompute launch measurements (snp, tdx, cca)", "snp|tdx|cca [options]",
     "Computes the launch measurement a correct VM must show, from the launch inputs.\n"
     "Output: JSON reference values (default) or --hex, one line per value.",
     NULL, "0 computed, 2 unusable input (malformed firmware, missing section, bad option)", cmd_measure},
    {"measure snp", "SEV-SNP MEASUREMENT (and SEV / SEV-ES digests), optional ID block",
     "--firmware OVMF.fd [options]", NULL, measure_snp_opts, NULL, NULL},
    {"measure tdx", "TDX MRTD from the TDVF image; RTMR0-3 replayed from a CCEL event log",
     "[--firmware TDVF.fd [--page-order single|two-pass]] [--event-log FILE] [--hex]",
     "Precomputing RTMR1/RTMR2 from a kernel is not implemented: replay a reference boot's log.",
     measure_tdx_opts, NULL, NULL},
    {"measure cca", "Arm CCA Realm Initial Measurement (RMM 1.0 or 2.0 rules)",
     "--realm-config FILE.json --kernel K [--initrd I] [--dtb D] [--hex]",
     "FILE.json (numbers may be JSON integers or \"0x..\" strings; unknown keys are rejected):\n"
     "  rmm_version \"1.0\" | \"2.0\"   hash_algo \"sha256\" | \"sha512\" | \"sha384\" (2.0 only)\n"
     "  ipa_bits, lpa2, sve_vl (bits, 0 = off), pmu, pmu_num_ctrs, num_bps, num_wps\n"
     "  ram: [{base, size}]           RMI_RTT_INIT_RIPAS ranges (measured under RMM 1.0)\n"
     "  kernel_ipa, initrd_ipa, dtb_ipa  where the VMM loads each blob\n"
     "  rec: {pc, gprs: [x0..x7]}     boot REC (default pc = kernel_ipa, x0 = dtb_ipa)\n"
     "  unmeasured: [{ipa, size}]     DATA_CREATE without content measurement, after the REC\n"
     "Order: REALM_CREATE, INIT_RIPAS, DATA_CREATE (ascending IPA), REC_CREATE, unmeasured.",
     measure_cca_opts, NULL, NULL},
    {"vm", "confidential VM lifecycle (plan, create, start, stop, destroy, list)", "COMMAND [options]",
     "State directory: $VERITEE_STATE_DIR, else /var/lib/veritee as root, else\n"
     "$XDG_STATE_HOME/veritee (~/.local/state/veritee).",
     NULL, "0 ok, 1 operation failed, 2 bad config or arguments, 3 missing file or VM", cmd_vm},
    {"vm plan", "print the QEMU command line (or libvirt domain XML) a config becomes; nothing runs",
     "CONFIG [--libvirt] [--json] [--no-check-files] [--measure]",
     "Files the plan names but does not read (firmware, kernel, disks) need not exist on this\n"
     "host: a missing one is a warning and the plan is printed (--measure reads the firmware).",
     vm_plan_opts, NULL, NULL},
    {"vm create", "validate a config and record the VM (libvirt: define it)",
     "CONFIG [--libvirt [--connect URI]]", NULL, vm_create_opts, NULL, NULL},
    {"vm start", "launch a VM (QEMU daemonized, QMP socket in the state directory)", "NAME [--timeout SEC]",
     NULL, vm_timeout_opts, NULL, NULL},
    {"vm stop", "ACPI powerdown, then QMP quit, then signals", "NAME [--force] [--timeout SEC]", NULL,
     vm_stop_opts, NULL, NULL},
    {"vm destroy", "stop a VM forcibly and remove its state", "NAME", NULL, NULL, NULL, NULL},
    {"vm list", "all VMs and their state", "[--json]", NULL, json_only, NULL, NULL},
    {"vm status", "a VM's pid and QMP query-status", "NAME [--json]", NULL, json_only, NULL, NULL},
    {"vm query", "run a read-only QMP query-* command (e.g. query-sev-capabilities)", "NAME COMMAND", NULL,
     NULL, NULL, NULL},
    {"platform", "what this machine is: TEE host, TEE guest, or neither", "[--json] [--root DIR]",
     "Host checks (KVM, TDX, SEV-SNP, CCA, firmware, QEMU) and guest-side interfaces\n"
     "(configfs-tsm, /dev/tdx_guest, /dev/sev-guest).",
     platform_opts, NULL, cmd_platform},
    {"audit", "verify, show or archive the audit log (hash chain) of a store", "verify|show|archive --db URL [options]",
     NULL, NULL, NULL, cmd_audit},
    {"audit verify", "check the audit hash chain; name the first bad record",
     "--db URL [--anchor SEQ:HASH] [--archive FILE... | --archive-dir DIR] [--json]", NULL, audit_verify_opts,
     "0 the chain is intact (archives included), 1 it is broken (an edit, a gap, an overlap), 2 bad\n"
     "arguments or a file that is not an archive, 3 the store, an archive or DIR cannot be opened",
     NULL},
    {"audit show", "print the last records of the audit log", "--db URL [--tail N] [--json]", NULL,
     audit_show_opts, "0 ok, 2 bad arguments, 3 the store does not exist or cannot be opened", NULL},
    {"audit archive", "move the oldest audit records out of the store into an archive file",
     "--db URL (--out FILE | --out-dir DIR) (--keep N | --before TIME | --older-than DURATION [--at TIME]) [--json]",
     "Writes the records to the archive, checking the chain as they go, flushes it to disk and\n"
     "reads it back; only then deletes them from the store, which keeps the hash of the last one\n"
     "(its archive base) so the chain still runs unbroken from the archive into the store. Keep\n"
     "the archives (off the host): 'audit verify --archive-dir' proves the whole history with them.\n"
     "Safe while 'veritee serve' runs; the systemd timer veritee-audit-archive.timer and the\n"
     "Kubernetes CronJob veritee-audit-archive run it daily (docs/operations.md).\n"
     "Nothing to archive is not an error: exit 0, no file written.",
     audit_archive_opts,
     "0 archived (or nothing to archive), 1 the chain is broken (nothing archived), 2 bad arguments,\n"
     "the archive exists or --out-dir is not a directory, 3 the store or DIR cannot be opened, or\n"
     "another run holds DIR",
     NULL},
    {"store", "store maintenance (rekey: rotate the key-encryption key)", "rekey [options]", NULL, NULL, NULL,
     cmd_store},
    {"store rekey", "re-seal every resource under a new key-encryption key",
     "--db URL --kek-file CURRENT --new-kek-file NEW",
     "Re-seals every resource value under the new key-encryption key in one transaction,\n"
     "records the new key's id and appends an audit record. Restart every `veritee serve`\n"
     "node with --kek-file NEW afterwards: the old key no longer opens it.",
     store_rekey_opts, "0 done, 1 refused (wrong current key, sealed value altered), 2 usage, 3 store unusable",
     NULL},
    {"collateral", "fetch, refresh, show and prune the Intel PCS/PCCS and AMD KDS collateral cache",
     "fetch|refresh|show|prune [options]",
     "Keeps a cache of Intel PCS/PCCS collateral (TCB Info, QE Identity, PCK and root CA\n"
     "CRLs) and of AMD KDS collateral (VCEK per chip and TCB, ASK/ARK and ASVK/ARK chains,\n"
     "the ARK's CRL) that 'veritee verify --collateral DIR/tdx', 'veritee verify --cache DIR'\n"
     "and 'veritee serve --cache DIR' read. Every answer is checked against the Intel root or\n"
     "the pinned AMD ARK before it is written (atomically).",
     NULL, COLL_EXITS, cmd_collateral},
    {"collateral fetch", "what the quotes, reports (or platforms) need and the cache lacks or holds stale",
     "UPSTREAM --cache DIR [--force] [--at T] [--json] (QUOTE | REPORT | --platform ID | --chip HEX --tcb HEX)...",
     "UPSTREAM is --pcs-url URL or --pccs-url URL (with --pccs-cacert, --pccs-insecure, --api-key)\n"
     "for TDX/SGX quotes, --kds-url URL for SEV-SNP reports and chips (or both).",
     coll_fetch_opts, COLL_EXITS, NULL},
    {"collateral refresh", "every platform the cache holds, for items due (see show)",
     "UPSTREAM --cache DIR [--force] [--margin SECONDS] [--at T] [--json]",
     "TDX/SGX platforms with --pcs-url/--pccs-url, SNP chains and VCEKs with --kds-url.", coll_refresh_opts, COLL_EXITS,
     NULL},
    {"collateral show", "each item: for whom, valid until when, state (valid, refresh, expired)",
     "--cache DIR [--at T] [--json]", NULL, coll_show_opts, COLL_EXITS, NULL},
    {"collateral prune", "remove items expired for longer than --grace (default 30 days)",
     "--cache DIR [--grace SECONDS] [--at T]", NULL, coll_prune_opts, COLL_EXITS, NULL},
    {"emulate", "create an emulated TEE (test PKI, collateral) for machines without one", "init|show DIR", NULL,
     NULL, NULL, cmd_emulate},
    {"emulate init", "create an emulated TEE in DIR", "DIR [--platform FILE] [--at RFC3339]",
     "Creates DIR/platform.json, DIR/keys (private, 0600), DIR/trust and DIR/collateral: a test\n"
     "PKI per TEE shaped like the vendor's, and its collateral. Verify emulated evidence with\n"
     "--trust DIR/trust --collateral DIR/collateral.",
     emulate_init_opts, NULL, NULL},
    {"emulate show", "print the platform description of an emulated TEE", "DIR", NULL, NULL, NULL, NULL},
    {"emulate gpu-evidence", "emulated NVIDIA GPU evidence (Trustee's device_evidence_list JSON)",
     "DIR --nonce HEX [-o FILE]",
     "Over the nonce, when the platform has an \"nvidia\" section (docs/nvidia.md): Hopper or\n"
     "Blackwell GPUs (nvidia.arch, a list for a mixed set), PPCIe reports with switch PDIs\n"
     "(nvidia.feature PPCIE); verify it with veritee verify --tee nvidia --trust DIR/trust/nvidia.",
     gpu_evidence_opts, NULL, NULL},
    {"emulate azure-cvm", "provision a TPM (swtpm) as the vTPM of an emulated Azure CVM",
     "DIR --tee az-snp-vtpm|az-tdx-vtpm --tcti TCTI --out DIR2 [--init-data HEX] [--aael TEXT]...",
     "Does to the TPM what Azure's paravisor does at boot: an AK persistent at 0x81000003, an HCL\n"
     "report in NV 0x01400001 binding it under the emulated SNP/TDX PKI of DIR, firmware events in\n"
     "PCR 0-7 (DIR2/binary_bios_measurements); and writes what Azure IMDS would answer (DIR2/vcek.der\n"
     "or DIR2/td_quote.bin). Then `veritee evidence get --tee az-snp-vtpm --tcti TCTI --imds-dir DIR2`\n"
     "collects from it as on Azure (docs/azure.md).",
     emulate_azure_opts, NULL, NULL},
    {"evidence", "collect attestation evidence (emulated, configfs-tsm, ioctl)", "get|extend [options]", NULL,
     NULL, NULL, cmd_evidence},
    {"evidence get", "produce evidence bound to report data",
     "[--tee tdx|snp|cca] (--report-data HEX | --nonce HEX | --nonce-text STR) [options]", NULL,
     evidence_get_opts, "0 written, 2 bad arguments or provider error, 3 provider or emulator missing", NULL},
    {"evidence extend", "extend a TDX RTMR or a TPM PCR (runtime measurement) and log the event",
     "--rtmr N (--digest HEX | --data-file FILE) [--event TEXT] [--log FILE] [--mr-dir DIR]\n"
     "       --pcr N (--aael TEXT --log FILE | --digest HEX) [--tcti TCTI]", NULL,
     evidence_extend_opts, NULL, NULL},
    {"serve", "Key Broker Service + attestation service (CoCo KBS protocol)",
     "--listen ADDR:PORT --db sqlite:PATH|postgres://... [options]", NULL, serve_opts,
     "0 stopped cleanly, 2 bad arguments or configuration, 3 a file it needs is missing", cmd_serve},
    {"admin", "KBS admin client: resources, policies, reference values",
     "--kbs URL --key PRIV.pem [--sub NAME] [--cacert FILE] COMMAND",
     "Commands:\n"
     "  resource put REPO/TYPE/TAG FILE       store FILE as a new version\n"
     "  resource rotate REPO/TYPE/TAG FILE    new version, older versions revoked\n"
     "  resource list | versions PATH | revoke PATH VERSION | delete PATH\n"
     "  policy set-attestation FILE [ID]      attestation policy (docs/policy.md; ID default 'default')\n"
     "  policy set-resource PATH|default FILE resource policy (docs/kbs.md)\n"
     "  policy list-attestation | list-resource\n"
     "  refvals put FILE [ID] | get ID | list reference values (docs/policy.md)",
     admin_opts, "0 ok, 1 refused by the server, 2 usage, 3 server unreachable or resource missing", cmd_admin},
    {"attest", "attest to a KBS (CoCo RCAR) and fetch a secret (guest side)",
     "--kbs URL [--resource REPO/TYPE/TAG]... [options]", NULL, attest_opts,
     "0 secret(s) received, 1 refused by the KBS (attestation or resource policy),\n"
     "2 bad arguments or a malformed answer, 3 resource or evidence provider missing,\n"
     "or the KBS unreachable, timed out or failing (5xx): retry",
     cmd_attest},
    {"ui", "the web console's evidence explorer (docs/console.md)", "[options]",
     "Open http://ADDR:PORT/ in a browser and drop a TDX/SGX quote, SNP report or CCA token.\n"
     "No store, no admin API; evidence is never kept.",
     ui_opts, NULL, cmd_ui},
    {"version", "print the version (also -V, --version)", "", NULL, NULL, NULL, cmd_version},
    {"help", "help on a command", "[COMMAND [SUBCOMMAND]]", NULL, NULL, NULL, cmd_help},
};
const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

const cli_cmd *cli_find(const char *path)
{
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i].name, path) == 0) return &cli_commands[i];
    return NULL;
}

static bool is_sub_of(const cli_cmd *c, const char *parent)
{
    size_t n = strlen(parent);
    return strncmp(c->name, parent, n) == 0 && c->name[n] == ' ' && strchr(c->name + n + 1, ' ') == NULL;
}

static void print_indented(FILE *f, const char *text, int col)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%.*s\n", len, p);
        if (nl == NULL) break;
        p = nl + 1;
        fprintf(f, "%*s", col, "");
    }
}

void cli_help(FILE *f, const char *path)
{
    const cli_cmd *c = cli_find(path);
    if (c == NULL) return;
    fprintf(f, "usage: veritee %s%s%s\n\n%s\n", c->name, c->synopsis[0] ? " " : "", c->synopsis, c->summary);
    if (c->description) fprintf(f, "\n%s\n", c->description);
    bool subs = false;
    for (size_t i = 0; i < cli_ncommands; i++) {
        if (!is_sub_of(&cli_commands[i], path)) continue;
        if (!subs) fprintf(f, "\ncommands:\n");
        subs = true;
        fprintf(f, "  %-16s %s\n", cli_commands[i].name + strlen(path) + 1, cli_commands[i].summary);
    }
    if (subs) fprintf(f, "\nRun 'veritee help %s COMMAND' for the options of a command.\n", path);
    if (c->opts != NULL && c->opts[0].lng != NULL) {
        fprintf(f, "\noptions:\n");
        for (const cli_opt *o = c->opts; o->lng != NULL; o++) {
            char head[64];
            /* an optional value ("[=URL]") is written against the name: --ocsp[=URL] */
            const char *sep = o->arg == NULL || o->arg[0] == '[' ? "" : " ";
            if (o->shrt) snprintf(head, sizeof head, "-%c, --%s%s%s", o->shrt, o->lng, sep, o->arg ? o->arg : "");
            else snprintf(head, sizeof head, "--%s%s%s", o->lng, sep, o->arg ? o->arg : "");
            if (strlen(head) > 22) fprintf(f, "  %s\n%*s", head, 25, "");
            else fprintf(f, "  %-22s ", head);
            print_indented(f, o->help, 25);
        }
        fprintf(f, "  %-22s %s\n", "-h, --help", "this help");
    }
    if (c->exits) {
        fprintf(f, "\nexit: ");
        print_indented(f, c->exits, 6);
    }
}

void cli_help_top(FILE *f)
{
    fprintf(f, "usage: veritee <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < cli_ncommands; i++)
        if (strchr(cli_commands[i].name, ' ') == NULL)
            fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
    fprintf(f, "\nRun 'veritee help <command>' or 'veritee <command> --help' for its options.\n\nexit: ");
    print_indented(f, exit_all, 6);
}

void cli_usage(FILE *f, const char *path)
{
    if (f == stdout) {
        cli_help(f, path);
        return;
    }
    const cli_cmd *c = cli_find(path);
    fprintf(f, "usage: veritee %s %s; see 'veritee help %s'\n", path, c ? c->synopsis : "", path);
}

/* Does the table list --name (NAME up to '=') for this command, and does it take a value? */
static const cli_opt *find_opt(const char *path, const char *name, size_t len)
{
    const cli_cmd *c = cli_find(path);
    for (const cli_opt *o = c && c->opts ? c->opts : NULL; o && o->lng; o++)
        if (strlen(o->lng) == len && strncmp(o->lng, name, len) == 0) return o;
    return NULL;
}

int cli_bad_arg(const char *path, const char *arg)
{
    if (arg != NULL && arg[0] == '-' && arg[1] == '-') {
        size_t len = strcspn(arg + 2, "=");
        const cli_opt *o = find_opt(path, arg + 2, len);
        if (o != NULL && o->arg != NULL)
            fprintf(stderr, "veritee %s: option --%s needs a value (%s); see 'veritee help %s'\n", path, o->lng,
                    o->arg, path);
        else
            fprintf(stderr, "veritee %s: unknown option %s; see 'veritee help %s'\n", path, arg, path);
    } else if (arg != NULL && arg[0] == '-' && arg[1] != 0) {
        fprintf(stderr, "veritee %s: unknown option %s; see 'veritee help %s'\n", path, arg, path);
    } else {
        fprintf(stderr, "veritee %s: unexpected argument '%s'; see 'veritee help %s'\n", path,
                arg ? arg : "", path);
    }
    return VT_EXIT_USAGE;
}

int cli_bad_option(const char *path, char **argv)
{
    /* getopt_long (opterr = 0) returned '?' or ':': the culprit is the argument it just read. A long
     * option missing its value leaves optopt at the option's val, so look at the argument first. */
    const char *last = optind > 0 ? argv[optind - 1] : NULL;
    if (last != NULL && strncmp(last, "--", 2) == 0) return cli_bad_arg(path, last);
    if (optopt > 0 && optopt < 128) {
        char s[3] = {'-', (char)optopt, 0};
        const cli_cmd *c = cli_find(path);
        for (const cli_opt *o = c && c->opts ? c->opts : NULL; o && o->lng; o++)
            if (o->shrt == optopt && o->arg != NULL) {
                fprintf(stderr, "veritee %s: option -%c needs a value (%s); see 'veritee help %s'\n", path,
                        optopt, o->arg, path);
                return VT_EXIT_USAGE;
            }
        return cli_bad_arg(path, s);
    }
    return cli_bad_arg(path, last);
}
