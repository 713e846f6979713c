# The layer table: the one place that says which layer owns which directory and public header,
# and which layers it may use. Each layer becomes a static library vt_<name> that links exactly
# the layers named in USES (PUBLIC) and sees only their public headers and its own internal
# ones, so an upward include fails to compile; scripts/check-layers checks the include lines and
# the archives' symbols against the same table (target layer_check, and the ctest `layers`).
# Order: bottom first. A layer may use only layers listed before it.
#
# vt_layer(NAME DIRS dir... HEADERS header... USES layer... SUMMARY "text")
vt_layer(core     DIRS src/core     USES
         HEADERS api err reader writer der derw cbor codec vtime json jcs checks
         SUMMARY "errors, bounds-checked reader and writer, DER/CBOR, hex/base64, RFC 3339 time, JSON member getters, JCS, named checks; no crypto, no I/O")
vt_layer(crypto   DIRS src/crypto   USES core
         HEADERS crypto x509 cose jose jws pki
         SUMMARY "OpenSSL 3 wrappers: ECDSA, X.509 chains at an explicit time, COSE_Sign1, JWS/JWK/JWE, the test-PKI builder")
vt_layer(io       DIRS src/io       USES core crypto
         HEADERS fileio certdir http_get
         SUMMARY "bounded file reads, certificate directories, the HTTP client (libcurl, loaded at run time)")
vt_layer(tpm      DIRS src/tpm      USES core crypto
         HEADERS tpm
         SUMMARY "TPM 2.0 quotes (TPMS_ATTEST, PCR selection, TPMT_SIGNATURE/PUBLIC), TCG2 event logs and replay, CoCo AAEL, the tpm evidence verifier")
vt_layer(metrics  DIRS src/metrics  USES core
         HEADERS metrics
         SUMMARY "counters, gauges, histograms and the Prometheus text form; knows no HTTP")
vt_layer(tdx      DIRS src/tdx      USES core crypto io tpm
         HEADERS tdx tdx_ccel
         SUMMARY "TDX/SGX quotes, PCK, TCB Info/QE Identity, TCB matching, CCEL (over the tpm layer's TCG2 log parser)")
vt_layer(snp      DIRS src/snp      USES core crypto io
         HEADERS snp snp_kds
         SUMMARY "SEV-SNP report, certificate table, VCEK/VLEK chains, AMD KDS fetch")
vt_layer(cca      DIRS src/cca      USES core crypto io
         HEADERS cca
         SUMMARY "Arm CCA token (CBOR/COSE), platform and realm claims, CPAK trust")
vt_layer(azure    DIRS src/azure    USES core crypto io tdx snp tpm
         HEADERS azure
         SUMMARY "Azure confidential VMs with a vTPM: the HCL report and runtime claims, az-snp-vtpm and az-tdx-vtpm evidence and verifiers")
vt_layer(nvidia   DIRS src/nvidia   USES core crypto io
         HEADERS nvidia
         SUMMARY "NVIDIA GPU attestation: SPDM 1.1 measurement reports, opaque-data TLVs, device chain to the pinned NVIDIA root, RIMs (XML-DSig via libxmlsec1)")
vt_layer(measure  DIRS src/measure  USES core crypto
         HEADERS measure
         SUMMARY "launch measurements: OVMF/TDVF, SNP launch digest, TDX MRTD, CCA RIM; knows no verification")
vt_layer(collateral DIRS src/collateral USES core crypto io metrics tdx snp
         HEADERS collateral
         SUMMARY "live collateral: the cache of Intel PCS/PCCS and AMD KDS items, checked before install, atomic, with validity windows; fetch, refresh, prune")
vt_layer(verify   DIRS src/verify   USES core crypto io tpm tdx snp cca azure nvidia collateral
         HEADERS verify claims
         SUMMARY "the one verification entry for every TEE (TDX, SGX, SNP, CCA, az-snp-vtpm, az-tdx-vtpm, tpm): verifier from trust + collateral source, evidence -> normalized claims + checks")
vt_layer(appraise DIRS src/appraise USES core crypto io verify
         HEADERS policy refvals ear
         SUMMARY "policy language, reference values, EAR")
vt_layer(evidence DIRS src/evidence USES core crypto io tpm tdx snp cca nvidia measure
         HEADERS evidence emulate vtpm
         SUMMARY "guest-side collection (configfs-tsm, ioctls, RTMR extension, vTPM quotes and NV reads through a dlopen()ed tpm2-tss, NVIDIA GPU evidence through a dlopen()ed NVML) and the emulated TEE")
vt_layer(rcar     DIRS src/rcar     USES core crypto snp
         HEADERS rcar
         SUMMARY "the KBS protocol pieces both sides use: message parsers, bindings, init-data, evidence JSON forms")
vt_layer(store    DIRS src/store    USES core crypto io
         HEADERS store
         SUMMARY "one storage interface over SQLite and PostgreSQL (libsqlite3 and libpq loaded at run time); owns the audit rows")
vt_layer(audit    DIRS src/audit    USES core crypto store
         HEADERS audit
         SUMMARY "the hash-chained audit log: record encoding, sealing, verification")
vt_layer(kbs      DIRS src/kbs      USES core crypto io tdx snp cca verify appraise rcar metrics store audit
         HEADERS kbs
         SUMMARY "the key broker: transport-free RCAR, resource and admin handlers; no clock, no HTTP")
vt_layer(agent    DIRS src/agent    USES core crypto io snp evidence rcar
         HEADERS kbs_client
         SUMMARY "the guest agent: RCAR client over HTTP, evidence from the providers")
vt_layer(vm       DIRS src/vm       USES core io
         HEADERS vm
         SUMMARY "VM configs, QEMU/libvirt plans, QMP, state, host checks; no attestation logic")
vt_layer(ui       DIRS src/ui       USES core crypto io tdx snp cca verify appraise
         HEADERS ui
         SUMMARY "the web console: ui/ files built into the binary, the explorer's analysis (decoded fields, checks, chain, appraisal) and its /api/v1/explore request, the self-contained HTML report; no HTTP")
vt_layer(server   DIRS src/server   USES core crypto io metrics kbs ui
         HEADERS http kbs_http ui_http
         SUMMARY "the HTTP server (libmicrohttpd, loaded at run time), the key broker's routes and the web console's")
