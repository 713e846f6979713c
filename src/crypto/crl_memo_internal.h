/* The CRL check memo's hook into a chain verification's X509 store (crl_memo.c). */
#ifndef VT_CRL_MEMO_INTERNAL_H
#define VT_CRL_MEMO_INTERNAL_H

#include <stdbool.h>

#include "veritee/x509.h"

/* Makes `store`'s CRL validity check go through memo `m` (which must outlive the store's
 * verifications); a NULL memo leaves the store as it is. False when the store cannot hold it. */
bool crl_memo_install(vt_crl_memo *m, X509_STORE *store);

#endif
