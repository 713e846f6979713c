/* Internal to the nvidia layer: the revocation check shared by the device chain (verify.c)
 * and the RIM signer chains (rim.c), and the RIM verifier's revocation settings. */
#ifndef VT_NVIDIA_INT_H
#define VT_NVIDIA_INT_H

#include <openssl/x509.h>

#include "veritee/nvidia.h"

/* Status of every certificate of path (leaf first, trusted root last, root not checked) at
 * `at` by the sources of rev; recorded under `check`, details prefixed with dev. */
vt_err nv_revocation(const vt_nvidia_revocation *rev, STACK_OF(X509) *path, vt_time at, const char *check,
                     const char *dev, vt_checks *checks, vt_error *err);

/* The RIM verifier's revocation settings (NULL: not checked). */
const vt_nvidia_revocation *nv_rim_revocation(const vt_nvidia_rim_verifier *v);

#endif
