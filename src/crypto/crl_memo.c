/* A memo of CRL validity checks that OpenSSL's chain verification passed cleanly, so that the
 * same CRL, issuer, instant and flags are not checked again (RFC 5280 6.3.3 (f), (g): the CRL
 * issuer's key and the CRL's signature; docs/operations.md, cold verify).
 *
 * OpenSSL 3.0 keeps no result of its check_crl (crypto/x509/x509_vfy.c). Intel's root CA CRL is
 * checked four times in one TDX verification (for the Platform CA and for the root in the PCK
 * chain, for the TCB Signing certificate and for the root in the TCB signing chain), each time
 * a P-256 signature verification of the same bytes with the same key. The memo wraps OpenSSL's
 * own check_crl: a miss calls it; a hit skips only a recomputation whose inputs are identical.
 *
 * Why a hit cannot differ from a fresh call, read against OpenSSL 3.0's check_crl(ctx, crl):
 * it depends on the issuer it picks (ctx->current_issuer when set), the CRL, the verification
 * time and flags, and three bits of ctx->current_crl_score (not observable): SCOPE, SAME_PATH
 * and TIME. An entry is made and used only when
 *   - the result was 1 and no error reached the verify callback during the call (a clean pass;
 *     a failure or an error a callback forgave is never remembered);
 *   - current_issuer is set: without X509_V_FLAG_EXTENDED_CRL_SUPPORT it is only set to a
 *     certificate on the path, which sets SAME_PATH; with it the memo is off;
 *   - the CRL has no issuingDistributionPoint and no deltaCRLIndicator, and the certificate
 *     checked has the CRL's issuer as its issuer name: then the CRL is in scope for any
 *     certificate (crl_crldp_check's last rule), so SCOPE does not depend on the certificate;
 *   - X509_V_FLAG_USE_CHECK_TIME is set and X509_V_FLAG_USE_DELTAS is not: TIME is then a
 *     function of the CRL, the instant and the flags, all in the key;
 *   - the OpenSSL in use is 3.0 (the version this was read against); under another the memo
 *     stays empty and every check is OpenSSL's.
 * The key is the CRL object, the issuer object (both referenced while the memo lives: no other
 * object can take their address), the instant and all the flags. The revocation lookup itself
 * (cert_crl: is this certificate's serial listed) is never skipped. */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "crl_memo_internal.h"

#define MEMO_ENTRIES 8
/* where a store points at its memo: the application-data slot every OpenSSL ex_data class
 * reserves (the store is vt_chain_verify's own) */
#define STORE_SLOT 0

typedef struct memo_entry {
    X509_CRL *crl;
    X509 *issuer;
    time_t at;
    unsigned long flags;
} memo_entry;

struct vt_crl_memo {
    CRYPTO_RWLOCK *lock; /* a verifier's memo is shared by the threads using that verifier */
    int (*dflt)(X509_STORE_CTX *, X509_CRL *); /* OpenSSL's own check_crl */
    memo_entry e[MEMO_ENTRIES];
    size_t next;
    unsigned long hits; /* for tests */
};

vt_err vt_crl_memo_new(vt_crl_memo **out, vt_error *err)
{
    *out = NULL;
    vt_crl_memo *m = calloc(1, sizeof *m);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    vt_err rc = VT_OK;
    if (m == NULL || store == NULL || ctx == NULL || (m->lock = CRYPTO_THREAD_lock_new()) == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    /* a context set up from a store without an override holds OpenSSL's default check_crl */
    if (X509_STORE_CTX_init(ctx, store, NULL, NULL) != 1 || (m->dflt = X509_STORE_CTX_get_check_crl(ctx)) == NULL) {
        rc = vt_error_set(err, VT_E_INTERNAL, "cert_chain", "cannot obtain OpenSSL's CRL check");
        goto out;
    }
    *out = m;
    m = NULL;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    vt_crl_memo_free(m);
    ERR_clear_error();
    return rc;
}

void vt_crl_memo_free(vt_crl_memo *m)
{
    if (m == NULL) return;
    for (size_t i = 0; i < MEMO_ENTRIES; i++) {
        X509_CRL_free(m->e[i].crl);
        X509_free(m->e[i].issuer);
    }
    CRYPTO_THREAD_lock_free(m->lock);
    free(m);
}

unsigned long vt_crl_memo_hits(vt_crl_memo *m)
{
    unsigned long h = 0;
    if (m != NULL && CRYPTO_THREAD_read_lock(m->lock)) {
        h = m->hits;
        CRYPTO_THREAD_unlock(m->lock);
    }
    return h;
}

static bool openssl_is_3_0(void)
{
    return OPENSSL_version_major() == 3 && OPENSSL_version_minor() == 0;
}

/* The key of this check, or false when the conditions above do not all hold. */
static bool memo_key(X509_STORE_CTX *ctx, X509_CRL *crl, memo_entry *k)
{
    const X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    unsigned long flags = X509_VERIFY_PARAM_get_flags(param);
    if (!openssl_is_3_0() || !(flags & X509_V_FLAG_USE_CHECK_TIME) ||
        (flags & (X509_V_FLAG_USE_DELTAS | X509_V_FLAG_EXTENDED_CRL_SUPPORT)))
        return false;
    X509 *issuer = X509_STORE_CTX_get0_current_issuer(ctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(ctx);
    if (issuer == NULL || cert == NULL) return false;
    if (X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, -1) >= 0 ||
        X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0)
        return false;
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_CRL_get_issuer(crl)) != 0) return false;
    k->crl = crl;
    k->issuer = issuer;
    k->at = X509_VERIFY_PARAM_get_time(param);
    k->flags = flags;
    return true;
}

static bool memo_has(vt_crl_memo *m, const memo_entry *k)
{
    bool found = false;
    if (!CRYPTO_THREAD_write_lock(m->lock)) return false;
    for (size_t i = 0; i < MEMO_ENTRIES && !found; i++) {
        const memo_entry *e = &m->e[i];
        found = e->crl == k->crl && e->issuer == k->issuer && e->at == k->at && e->flags == k->flags;
    }
    if (found) m->hits++;
    CRYPTO_THREAD_unlock(m->lock);
    return found;
}

static void memo_add(vt_crl_memo *m, const memo_entry *k)
{
    if (X509_CRL_up_ref(k->crl) != 1) return;
    if (X509_up_ref(k->issuer) != 1) {
        X509_CRL_free(k->crl);
        return;
    }
    if (!CRYPTO_THREAD_write_lock(m->lock)) {
        X509_CRL_free(k->crl);
        X509_free(k->issuer);
        return;
    }
    memo_entry *slot = &m->e[m->next];
    m->next = (m->next + 1) % MEMO_ENTRIES;
    memo_entry old = *slot;
    *slot = *k;
    CRYPTO_THREAD_unlock(m->lock);
    X509_CRL_free(old.crl);
    X509_free(old.issuer);
}

static int memo_check_crl(X509_STORE_CTX *ctx, X509_CRL *crl)
{
    X509_STORE *store = X509_STORE_CTX_get0_store(ctx);
    vt_crl_memo *m = store != NULL ? X509_STORE_get_ex_data(store, STORE_SLOT) : NULL;
    if (m == NULL) return 0; /* cannot happen: only crl_memo_install sets this function */
    memo_entry k;
    bool keyed = memo_key(ctx, crl, &k);
    if (keyed && memo_has(m, &k)) return 1;
    int before = X509_STORE_CTX_get_error(ctx);
    int ok = m->dflt(ctx, crl);
    if (keyed && ok == 1 && before == X509_V_OK && X509_STORE_CTX_get_error(ctx) == X509_V_OK) memo_add(m, &k);
    return ok;
}

bool crl_memo_install(vt_crl_memo *m, X509_STORE *store)
{
    if (m == NULL) return true;
    if (X509_STORE_set_ex_data(store, STORE_SLOT, m) != 1) return false;
    X509_STORE_set_check_crl(store, memo_check_crl);
    return true;
}
