/* Trust-anchor and certificate directories: every certificate in the *.pem, *.crt and *.der
 * files of a directory (the io layer). */
#ifndef VERITEE_CERTDIR_H
#define VERITEE_CERTDIR_H

#include <openssl/x509.h>

#include "veritee/api.h"
#include "veritee/err.h"

VT_BEGIN_DECLS

/* Load the certificates of dir (or of a single file) into a new stack. An empty result is
 * VT_E_MISSING. Caller frees with sk_X509_pop_free(*out, X509_free). */
VT_MUST_USE vt_err vt_certs_load_path(const char *path, STACK_OF(X509) **out, vt_error *err);

VT_END_DECLS

#endif
