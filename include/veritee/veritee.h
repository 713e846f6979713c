/* veritee: the whole public API in one include. Each line is a layer of cmake/layers.cmake,
 * bottom first; the build checks that this file includes exactly the layers' public headers
 * (scripts/gen-umbrella rewrites it).
 * Build against the installed library with `pkg-config --cflags --libs veritee`. */
#ifndef VERITEE_VERITEE_H
#define VERITEE_VERITEE_H

/* core */
#include "veritee/api.h"
#include "veritee/err.h"
#include "veritee/reader.h"
#include "veritee/writer.h"
#include "veritee/der.h"
#include "veritee/derw.h"
#include "veritee/cbor.h"
#include "veritee/codec.h"
#include "veritee/vtime.h"
#include "veritee/json.h"
#include "veritee/jcs.h"
#include "veritee/checks.h"
/* crypto */
#include "veritee/crypto.h"
#include "veritee/x509.h"
#include "veritee/cose.h"
#include "veritee/jose.h"
#include "veritee/jws.h"
#include "veritee/pki.h"
/* io */
#include "veritee/fileio.h"
#include "veritee/certdir.h"
#include "veritee/http_get.h"
/* tpm */
#include "veritee/tpm.h"
/* metrics */
#include "veritee/metrics.h"
/* tdx */
#include "veritee/tdx.h"
#include "veritee/tdx_ccel.h"
/* snp */
#include "veritee/snp.h"
#include "veritee/snp_kds.h"
/* cca */
#include "veritee/cca.h"
/* azure */
#include "veritee/azure.h"
/* nvidia */
#include "veritee/nvidia.h"
/* measure */
#include "veritee/measure.h"
/* collateral */
#include "veritee/collateral.h"
/* verify */
#include "veritee/verify.h"
#include "veritee/claims.h"
/* appraise */
#include "veritee/policy.h"
#include "veritee/refvals.h"
#include "veritee/ear.h"
/* evidence */
#include "veritee/evidence.h"
#include "veritee/emulate.h"
#include "veritee/vtpm.h"
/* rcar */
#include "veritee/rcar.h"
/* store */
#include "veritee/store.h"
/* audit */
#include "veritee/audit.h"
/* kbs */
#include "veritee/kbs.h"
/* agent */
#include "veritee/kbs_client.h"
/* vm */
#include "veritee/vm.h"
/* ui */
#include "veritee/ui.h"
/* server */
#include "veritee/http.h"
#include "veritee/kbs_http.h"
#include "veritee/ui_http.h"

#endif
