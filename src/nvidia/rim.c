/* NVIDIA reference integrity manifests: SWID XML signed with an enveloped XML signature.
 *
 * libxmlsec1 (OpenSSL backend) is opened with dlopen() by the first RIM verifier, so that no
 * other veritee process pays for libxml2/libxslt/libxmlsec1 at start-up (docs/architecture.md).
 * xmlsec does the canonicalisation (C14N 1.1), the reference digest and the ECDSA check with the
 * key we hand it: the signer certificate from KeyInfo, whose chain to the pinned RIM root we
 * verified at the caller's instant. xmlsec never looks keys up itself (no keys manager), may only
 * dereference URI="" (the whole document), and may only run the enveloped-signature and C14N
 * transforms, SHA-384 and ECDSA-SHA384. libxml2 and xmlsec keep process-wide state: their
 * initialisation runs once (pthread_once) and their error output is silenced. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/transforms.h>
#include <xmlsec/version.h>
#include <xmlsec/xmldsig.h>

#include "veritee/codec.h"
#include "veritee/crypto.h"
#include "veritee/json.h"
#include "veritee/nvidia.h"
#include "veritee/x509.h"

#define NS_SWID "http://standards.iso.org/iso/19770/-2/2015/schema.xsd"
#define NS_DSIG "http://www.w3.org/2000/09/xmldsig#"
#define NS_SHA384 "http://www.w3.org/2001/04/xmlenc#sha384"
#define RIM_MAX_BYTES (4u * 1024u * 1024u)
#define RIM_MAX_CERTS 8

/* The functions used, resolved from libxmlsec1-openssl.so.1 and its dependencies. */
#define XS_FUNCS(X)                                                                             \
    X(xmlInitParser) X(xmlReadMemory) X(xmlFreeDoc) X(xmlDocGetRootElement) X(xmlSecInit)     \
    X(xmlSecCheckVersionExt) X(xmlSecErrorsSetCallback) X(xmlSecOpenSSLAppInit)               \
    X(xmlSecOpenSSLInit) X(xmlSecDSigCtxCreate) X(xmlSecDSigCtxDestroy) X(xmlSecDSigCtxVerify) \
    X(xmlSecDSigCtxEnableReferenceTransform) X(xmlSecDSigCtxEnableSignatureTransform)         \
    X(xmlSecOpenSSLAppKeyLoadMemory) X(xmlSecTransformEnvelopedGetKlass)                      \
    X(xmlSecTransformInclC14N11GetKlass) X(xmlSecTransformInclC14NGetKlass)                   \
    X(xmlSecTransformExclC14NGetKlass) X(xmlSecOpenSSLTransformSha384GetKlass)                \
    X(xmlSecOpenSSLTransformEcdsaSha384GetKlass)

typedef struct xs_api {
#define XS_MEMBER(f) __typeof__(f) *f;
    XS_FUNCS(XS_MEMBER)
#undef XS_MEMBER
} xs_api;

/* Process-wide because the library's own state is: loaded and initialised exactly once. */
static pthread_once_t xs_once = PTHREAD_ONCE_INIT;
static xs_api xs;
static const char *xs_problem; /* NULL: loaded and initialised */

static void xs_silent(const char *file, int line, const char *func, const char *object,
                      const char *subject, int reason, const char *msg)
{
    (void)file, (void)line, (void)func, (void)object, (void)subject, (void)reason, (void)msg;
}

static void xs_load(void)
{
    void *lib = dlopen("libxmlsec1-openssl.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (lib == NULL) {
        xs_problem = "libxmlsec1-openssl.so.1 not available (Debian package libxmlsec1-openssl)";
        return;
    }
#define XS_SYM(f)                                                        \
    if ((*(void **)&xs.f = dlsym(lib, #f)) == NULL) {                    \
        xs_problem = "libxmlsec1-openssl.so.1 lacks " #f;                \
        return;                                                          \
    }
    XS_FUNCS(XS_SYM)
#undef XS_SYM
    xs.xmlInitParser();
    if (xs.xmlSecInit() < 0) {
        xs_problem = "xmlSecInit failed";
        return;
    }
    if (xs.xmlSecCheckVersionExt(XMLSEC_VERSION_MAJOR, XMLSEC_VERSION_MINOR, XMLSEC_VERSION_SUBMINOR,
                                 xmlSecCheckVersionABICompatible) != 1) {
        xs_problem = "the installed libxmlsec1 is not ABI-compatible with the headers built against";
        return;
    }
    if (xs.xmlSecOpenSSLAppInit(NULL) < 0 || xs.xmlSecOpenSSLInit() < 0) {
        xs_problem = "xmlsec OpenSSL backend initialisation failed";
        return;
    }
    xs.xmlSecErrorsSetCallback(xs_silent); /* after the backend's init, which installs its own */
}

struct vt_nvidia_rim_verifier {
    STACK_OF(X509) *roots;
};

vt_err vt_nvidia_rim_verifier_new(const void *roots_pem, size_t len, vt_nvidia_rim_verifier **out,
                                  vt_error *err)
{
    *out = NULL;
    if (roots_pem == NULL)
        return vt_error_set(err, VT_E_MISSING, "rim_chain", "no RIM root given (NVIDIA CoRIM signing Root CA)");
    pthread_once(&xs_once, xs_load);
    if (xs_problem != NULL) return vt_error_set(err, VT_E_MISSING, "rim_signature", "%s", xs_problem);
    vt_nvidia_rim_verifier *v = calloc(1, sizeof *v);
    if (v == NULL) return vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
    if (vt_pem_certs(roots_pem, len, &v->roots, err) != VT_OK) {
        free(v);
        return vt_error_wrap(err, "RIM root");
    }
    *out = v;
    return VT_OK;
}

void vt_nvidia_rim_verifier_free(vt_nvidia_rim_verifier *v)
{
    if (v == NULL) return;
    sk_X509_pop_free(v->roots, X509_free);
    free(v);
}

/* ---- tree helpers (only libxml2's structures, no calls) ---- */

static bool is_elem(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The only child element ns:name; *count says how many there are. */
static xmlNode *child(const xmlNode *n, const char *ns, const char *name, int *count)
{
    xmlNode *found = NULL;
    *count = 0;
    for (xmlNode *c = n->children; c != NULL; c = c->next)
        if (is_elem(c, ns, name) && (*count)++ == 0) found = c;
    return found;
}

/* Attribute value (ns NULL: unqualified); NULL when absent or not plain text. */
static const char *attr(const xmlNode *n, const char *ns, const char *name)
{
    for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
        if (strcmp((const char *)a->name, name) != 0) continue;
        if ((ns == NULL) != (a->ns == NULL)) continue;
        if (ns != NULL && strcmp((const char *)a->ns->href, ns) != 0) continue;
        if (a->children == NULL) return "";
        if (a->children->type != XML_TEXT_NODE || a->children->next != NULL) return NULL;
        return (const char *)a->children->content;
    }
    return NULL;
}

/* Text content of an element (text children only), whitespace removed, into a buffer. */
static vt_err text_of(const xmlNode *n, char *out, size_t cap, vt_error *err)
{
    size_t k = 0;
    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE)
            return vt_error_set(err, VT_E_INVALID, "rim_format", "element %s holds non-text content", n->name);
        for (const char *p = (const char *)c->content; p != NULL && *p; p++) {
            if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') continue;
            if (k + 1 >= cap)
                return vt_error_set(err, VT_E_INVALID, "rim_format", "element %s is too long", n->name);
            out[k++] = *p;
        }
    }
    out[k] = 0;
    return VT_OK;
}

static vt_err copy_attr(const xmlNode *n, const char *name, bool required, char *out, size_t cap,
                        vt_error *err)
{
    const char *v = attr(n, NULL, name);
    if (v == NULL) {
        out[0] = 0;
        return required ? vt_error_set(err, VT_E_INVALID, "rim_format", "%s has no attribute %s", n->name, name)
                        : VT_OK;
    }
    if (strlen(v) >= cap)
        return vt_error_set(err, VT_E_INVALID, "rim_format", "%s@%s is too long", n->name, name);
    snprintf(out, cap, "%s", v);
    return VT_OK;
}

static vt_err parse_uint(const char *s, unsigned max, const char *what, unsigned *out, vt_error *err)
{
    unsigned v = 0;
    if (s == NULL || *s == 0) return vt_error_set(err, VT_E_INVALID, "rim_format", "%s missing", what);
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > max / 10)
            return vt_error_set(err, VT_E_INVALID, "rim_format", "%s '%.16s' is not a number <= %u", what, s, max);
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max) return vt_error_set(err, VT_E_INVALID, "rim_format", "%s %u > %u", what, v, max);
    *out = v;
    return VT_OK;
}

static vt_err parse_resource(const xmlNode *n, vt_nvidia_rim *rim, vt_error *err)
{
    const char *type = attr(n, NULL, "type");
    if (type == NULL || strcmp(type, "Measurement") != 0) return VT_OK; /* not a measurement */
    if (rim->n >= VT_NVIDIA_RIM_MAX_ENTRIES)
        return vt_error_set(err, VT_E_INVALID, "rim_format", "more than %d measurements", VT_NVIDIA_RIM_MAX_ENTRIES);
    vt_nvidia_rim_entry *e = &rim->entries[rim->n];
    memset(e, 0, sizeof *e);
    unsigned alt, size;
    VT_GUARD(parse_uint(attr(n, NULL, "index"), 254, "Resource@index", &e->index, err));
    for (size_t i = 0; i < rim->n; i++)
        if (rim->entries[i].index == e->index)
            return vt_error_set(err, VT_E_INVALID, "rim_format", "duplicate measurement index %u", e->index);
    const char *act = attr(n, NULL, "active");
    if (act != NULL && strcasecmp(act, "true") == 0) e->active = true;
    else if (act != NULL && strcasecmp(act, "false") == 0) e->active = false;
    else return vt_error_set(err, VT_E_INVALID, "rim_format", "measurement %u: active is not True/False", e->index);
    VT_GUARD(parse_uint(attr(n, NULL, "alternatives"), VT_NVIDIA_RIM_MAX_ALT, "Resource@alternatives", &alt, err));
    VT_GUARD(parse_uint(attr(n, NULL, "size"), 1024, "Resource@size", &size, err));
    if (alt == 0) return vt_error_set(err, VT_E_INVALID, "rim_format", "measurement %u: no alternatives", e->index);
    if (size != VT_NVIDIA_FWID_LEN)
        return vt_error_set(err, VT_E_INVALID, "rim_format", "measurement %u: size %u (want 48, SHA-384)",
                            e->index, size);
    e->n_alt = alt;
    e->size = size;
    for (unsigned k = 0; k < alt; k++) {
        char an[16];
        snprintf(an, sizeof an, "Hash%u", k);
        const char *h = attr(n, NS_SHA384, an);
        if (h == NULL || strlen(h) != 2 * VT_NVIDIA_FWID_LEN ||
            vt_hex_decode_fixed(h, e->hash[k], VT_NVIDIA_FWID_LEN, err) != VT_OK)
            return vt_error_set(err, VT_E_INVALID, "rim_format",
                                "measurement %u: sha384:%s missing or not 96 hex digits", e->index, an);
    }
    VT_GUARD(copy_attr(n, "name", false, e->name, sizeof e->name, err));
    rim->n++;
    return VT_OK;
}

/* Everything the signature covers that we use: root attributes, Meta, Payload. */
static vt_err parse_content(const xmlNode *root, vt_nvidia_rim *rim, vt_error *err)
{
    int n;
    VT_GUARD(copy_attr(root, "tagId", true, rim->tag_id, sizeof rim->tag_id, err));
    VT_GUARD(copy_attr(root, "name", false, rim->name, sizeof rim->name, err));
    xmlNode *meta = child(root, NS_SWID, "Meta", &n);
    if (n != 1) return vt_error_set(err, VT_E_INVALID, "rim_format", "%d Meta elements (want 1)", n);
    VT_GUARD(copy_attr(meta, "colloquialVersion", true, rim->version, sizeof rim->version, err));
    VT_GUARD(copy_attr(meta, "product", false, rim->product, sizeof rim->product, err));
    xmlNode *payload = child(root, NS_SWID, "Payload", &n);
    if (n != 1) return vt_error_set(err, VT_E_INVALID, "rim_format", "%d Payload elements (want 1)", n);
    for (xmlNode *c = payload->children; c != NULL; c = c->next)
        if (is_elem(c, NS_SWID, "Resource")) VT_GUARD(parse_resource(c, rim, err));
    if (rim->n == 0) return vt_error_set(err, VT_E_INVALID, "rim_format", "no measurements in the Payload");
    return VT_OK;
}

/* KeyInfo/X509Data/X509Certificate*, in document order (signer first). */
static vt_err signer_certs(const xmlNode *sig, STACK_OF(X509) **out, vt_error *err)
{
    int n;
    xmlNode *ki = child(sig, NS_DSIG, "KeyInfo", &n);
    if (n != 1) return vt_error_set(err, VT_E_INVALID, "rim_format", "%d KeyInfo elements (want 1)", n);
    xmlNode *xd = child(ki, NS_DSIG, "X509Data", &n);
    if (n != 1) return vt_error_set(err, VT_E_INVALID, "rim_format", "%d X509Data elements (want 1)", n);
    STACK_OF(X509) *certs = sk_X509_new_null();
    char *b64 = malloc(16384);
    vt_buf der = {0};
    vt_err rc = VT_OK;
    if (certs == NULL || b64 == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    for (xmlNode *c = xd->children; c != NULL; c = c->next) {
        if (!is_elem(c, NS_DSIG, "X509Certificate")) continue;
        if (sk_X509_num(certs) >= RIM_MAX_CERTS) {
            rc = vt_error_set(err, VT_E_INVALID, "rim_format", "more than %d certificates", RIM_MAX_CERTS);
            goto out;
        }
        X509 *x = NULL;
        VT_GUARD_GOTO(text_of(c, b64, 16384, err));
        VT_GUARD_GOTO(vt_b64_decode(b64, strlen(b64), &der, err));
        VT_GUARD_GOTO(vt_cert_parse(der.ptr, der.len, &x, err));
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
            goto out;
        }
    }
    if (sk_X509_num(certs) == 0) rc = vt_error_set(err, VT_E_INVALID, "rim_format", "KeyInfo carries no certificate");
out:
    if (rc != VT_OK) {
        sk_X509_pop_free(certs, X509_free);
        certs = NULL;
        if (strcmp(err->check, "rim_format") != 0) vt_error_name(err, "rim_format");
        if (err->code != VT_E_NOMEM) err->code = VT_E_INVALID;
    }
    *out = certs;
    vt_buf_free(&der);
    free(b64);
    return rc;
}

/* xmlsec: canonicalise, digest the document, check the signature with the signer's key. */
static vt_err xmldsig_verify(xmlNode *sig, X509 *signer, vt_error *err)
{
    unsigned char *der = NULL;
    int dlen = i2d_X509(signer, &der);
    if (dlen <= 0) return vt_error_set(err, VT_E_INTERNAL, "rim_signature", "cannot encode the signer certificate");
    xmlSecDSigCtxPtr ctx = xs.xmlSecDSigCtxCreate(NULL); /* no keys manager: no key lookup */
    vt_err rc = VT_OK;
    if (ctx == NULL) {
        rc = vt_error_set(err, VT_E_NOMEM, "alloc", "out of memory");
        goto out;
    }
    ctx->signKey = xs.xmlSecOpenSSLAppKeyLoadMemory(der, (xmlSecSize)dlen, xmlSecKeyDataFormatCertDer,
                                                    NULL, NULL, NULL);
    if (ctx->signKey == NULL) {
        rc = vt_error_set(err, VT_E_INTERNAL, "rim_signature", "xmlsec cannot load the signer key");
        goto out;
    }
    ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
    if (xs.xmlSecDSigCtxEnableReferenceTransform(ctx, xs.xmlSecTransformEnvelopedGetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableReferenceTransform(ctx, xs.xmlSecTransformInclC14N11GetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableReferenceTransform(ctx, xs.xmlSecTransformInclC14NGetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableReferenceTransform(ctx, xs.xmlSecTransformExclC14NGetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableReferenceTransform(ctx, xs.xmlSecOpenSSLTransformSha384GetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableSignatureTransform(ctx, xs.xmlSecTransformInclC14N11GetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableSignatureTransform(ctx, xs.xmlSecTransformInclC14NGetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableSignatureTransform(ctx, xs.xmlSecTransformExclC14NGetKlass()) < 0 ||
        xs.xmlSecDSigCtxEnableSignatureTransform(ctx, xs.xmlSecOpenSSLTransformEcdsaSha384GetKlass()) < 0) {
        rc = vt_error_set(err, VT_E_INTERNAL, "rim_signature", "xmlsec cannot restrict the transforms");
        goto out;
    }
    if (xs.xmlSecDSigCtxVerify(ctx, sig) < 0) {
        rc = vt_error_set(err, VT_E_VERIFY, "rim_signature",
                          "the XML signature cannot be processed (algorithm, transform, reference or structure not allowed)");
        goto out;
    }
    if (ctx->status != xmlSecDSigStatusSucceeded) {
        rc = vt_error_set(err, VT_E_VERIFY, "rim_signature",
                          "the XML signature does not verify with the signer certificate's key");
        goto out;
    }
    if (ctx->signedInfoReferences.use != 1)
        rc = vt_error_set(err, VT_E_VERIFY, "rim_signature", "%u references signed (want exactly 1, URI=\"\")",
                          (unsigned)ctx->signedInfoReferences.use);
out:
    if (ctx != NULL) xs.xmlSecDSigCtxDestroy(ctx); /* frees signKey */
    OPENSSL_free(der);
    return rc;
}

vt_err vt_nvidia_rim_verify(vt_nvidia_rim_verifier *v, const uint8_t *xml, size_t len, vt_time at,
                            vt_nvidia_rim *out, vt_checks *checks, vt_error *err)
{
    memset(out, 0, sizeof *out);
    if (v == NULL || xml == NULL) return vt_error_set(err, VT_E_ARG, "args", "verifier and RIM are required");
    if (len == 0 || len > RIM_MAX_BYTES)
        return vt_check_fail(checks, err, "rim_format", VT_E_INVALID, "RIM of %zu bytes (1..%u)", len, RIM_MAX_BYTES);
    xmlDocPtr doc = xs.xmlReadMemory((const char *)xml, (int)len, "rim.swidtag", NULL,
                                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    STACK_OF(X509) *certs = NULL, *mid = NULL;
    vt_err rc = VT_OK;
    xmlNode *root = doc != NULL ? xs.xmlDocGetRootElement(doc) : NULL, *sig = NULL;
    int n = 0;
    if (root == NULL) rc = vt_error_set(err, VT_E_INVALID, "rim_format", "not well-formed XML");
    else if (doc->intSubset != NULL || doc->extSubset != NULL)
        rc = vt_error_set(err, VT_E_INVALID, "rim_format", "a document type declaration is not allowed");
    else if (!is_elem(root, NS_SWID, "SoftwareIdentity"))
        rc = vt_error_set(err, VT_E_INVALID, "rim_format", "the root element is not a SWID SoftwareIdentity");
    else if ((sig = child(root, NS_DSIG, "Signature", &n)) == NULL || n != 1)
        rc = vt_error_set(err, VT_E_INVALID, "rim_format", "%d enveloped ds:Signature elements (want 1)", n);
    if (rc == VT_OK) rc = signer_certs(sig, &certs, err);
    if (rc == VT_OK) {
        /* the RIM's content is parsed before the signature only to report format errors early;
         * nothing of it is returned unless the signature and chain verify */
        rc = parse_content(root, out, err);
    }
    VT_GUARD_GOTO(vt_check_step(checks, err, "rim_format", rc, "SWID tag %.40s..., %zu measurements, %d certificates",
                                out->tag_id, out->n, sk_X509_num(certs)));
    X509 *signer = sk_X509_value(certs, 0);
    mid = sk_X509_new_null();
    for (int i = 1; mid != NULL && i < sk_X509_num(certs); i++) sk_X509_push(mid, sk_X509_value(certs, i));
    vt_chain_opts co = {.at = at};
    rc = vt_chain_verify(signer, mid, v->roots, &co, "RIM signer chain", err);
    vt_curve curve;
    if (rc == VT_OK && (vt_ec_curve_of(X509_get0_pubkey(signer), &curve, err) != VT_OK || curve != VT_P384))
        rc = vt_error_set(err, VT_E_VERIFY, "rim_chain", "the RIM signer key is not ECDSA P-384");
    if (rc != VT_OK) {
        vt_check_step(checks, err, "rim_chain", rc, "%s", "");
        goto out;
    }
    vt_time nb;
    VT_GUARD_GOTO(vt_x509_validity(signer, &nb, &out->signer_not_after, err));
    vt_x509_subject_cn(signer, out->signer, sizeof out->signer);
    char na[21];
    vt_time_format(out->signer_not_after, na);
    vt_check_pass(checks, "rim_chain", "signer '%s' (valid until %s) chains to the pinned RIM root",
                  out->signer, na);
    rc = vt_check_step(checks, err, "rim_signature", xmldsig_verify(sig, signer, err),
                       "enveloped XML signature (C14N, ecdsa-sha384) over the whole document");
out:
    if (rc != VT_OK) {
        char keep[sizeof err->msg];
        snprintf(keep, sizeof keep, "%s", err->msg);
        int code = err->code;
        char check[sizeof err->check];
        snprintf(check, sizeof check, "%s", err->check);
        memset(out, 0, sizeof *out);
        vt_error_set(err, code, check, "%s", keep);
    }
    sk_X509_free(mid);
    sk_X509_pop_free(certs, X509_free);
    if (doc != NULL) xs.xmlFreeDoc(doc);
    return rc;
}

static void upper_nodots(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 1 < cap; s++) {
        if (*s == '.') continue;
        out[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    }
    out[k] = 0;
}

vt_err vt_nvidia_rim_ids(const vt_nvidia_report *r, vt_nvidia_arch arch, char *driver_id, size_t dcap,
                         char *vbios_id, size_t vcap, vt_error *err)
{
    char p[32], ps[32], cs[32], vb[32];
    upper_nodots(r->project, p, sizeof p);
    upper_nodots(r->project_sku, ps, sizeof ps);
    upper_nodots(r->chip_sku, cs, sizeof cs);
    upper_nodots(r->vbios_version, vb, sizeof vb);
    int a, b;
    if (arch == VT_NVIDIA_HOPPER) a = snprintf(driver_id, dcap, "NV_GPU_DRIVER_GH100_%s", r->driver_version);
    else if (arch == VT_NVIDIA_BLACKWELL) {
        if (r->chip_info[0] == 0)
            return vt_error_set(err, VT_E_INVALID, "rim_id", "a Blackwell report without chip_info (id 35)");
        a = snprintf(driver_id, dcap, "NV_GPU_CC_DRIVER_%s_%s", r->chip_info, r->driver_version);
    } else return vt_error_set(err, VT_E_UNSUPPORTED, "rim_id", "unknown GPU architecture");
    b = snprintf(vbios_id, vcap, "NV_GPU_VBIOS_%s_%s_%s_%s", p, ps, cs, vb);
    if (a < 0 || (size_t)a >= dcap || b < 0 || (size_t)b >= vcap)
        return vt_error_set(err, VT_E_ARG, "rim_id", "buffer too small for the RIM id");
    return VT_OK;
}

static bool version_eq(const char *rim, const char *report)
{
    return strcasecmp(rim, report) == 0;
}

static json_t *rim_ref(const vt_nvidia_rim *m)
{
    if (m == NULL) return json_null();
    return json_pack("{s:s, s:s, s:s}", "tag_id", m->tag_id, "version", m->version, "signer", m->signer);
}

vt_err vt_nvidia_rim_match(const vt_nvidia_report *r, const vt_nvidia_rim *driver,
                           const vt_nvidia_rim *vbios, json_t **result, vt_checks *checks, vt_error *err)
{
    if (result != NULL) *result = NULL;
    if (r == NULL) return vt_error_set(err, VT_E_ARG, "args", "no report");
    if (driver != NULL && !version_eq(driver->version, r->driver_version))
        return vt_check_fail(checks, err, "rim_version", VT_E_VERIFY, "driver RIM version %s != report driver version %s",
                             driver->version, r->driver_version);
    if (vbios != NULL && !version_eq(vbios->version, r->vbios_version))
        return vt_check_fail(checks, err, "rim_version", VT_E_VERIFY, "VBIOS RIM version %s != report VBIOS version %s",
                             vbios->version, r->vbios_version);
    vt_check_pass(checks, "rim_version", "driver RIM %s, VBIOS RIM %s",
                  driver ? driver->version : "(none)", vbios ? vbios->version : "(none)");
    /* golden[i]: the active entry for 0-based index i and which RIM it came from */
    const vt_nvidia_rim_entry *golden[256] = {0};
    const char *from[256] = {0};
    size_t n_golden = 0;
    const vt_nvidia_rim *rims[2] = {driver, vbios};
    const char *names[2] = {"driver", "vbios"};
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; rims[k] != NULL && i < rims[k]->n; i++) {
            const vt_nvidia_rim_entry *e = &rims[k]->entries[i];
            if (!e->active) continue;
            if (golden[e->index] != NULL)
                return vt_check_fail(checks, err, "rim_golden", VT_E_VERIFY,
                                     "index %u is active in both the driver and VBIOS RIMs", e->index);
            golden[e->index] = e;
            from[e->index] = names[k];
            n_golden++;
        }
    }
    if (n_golden > r->n_blocks)
        return vt_check_fail(checks, err, "rim_golden", VT_E_VERIFY, "%zu golden measurements but %zu runtime blocks",
                             n_golden, r->n_blocks);
    json_t *matched = json_array(), *mismatched = json_array(), *skipped = json_array(),
           *uncovered = json_array();
    size_t n_ok = 0, n_bad = 0;
    for (unsigned i = 0; i < 255; i++) {
        const vt_nvidia_block *b = NULL;
        for (size_t j = 0; j < r->n_blocks; j++)
            if (r->blocks[j].index == i + 1) b = &r->blocks[j];
        const vt_nvidia_rim_entry *g = golden[i];
        if (g == NULL) {
            if (b != NULL && !vt_bytes_is_zero(b->value.ptr, b->value.len))
                json_array_append_new(uncovered, json_integer(i));
            continue;
        }
        if (i == 35 && r->nvdec0 == VT_NV_NVDEC0_DISABLED) {
            json_array_append_new(skipped, json_pack("{s:i, s:s, s:s}", "index", i, "rim", from[i], "reason",
                                                     "nvdec0 disabled"));
            continue;
        }
        int hit = -1;
        for (size_t k = 0; b != NULL && b->value.len == g->size && k < g->n_alt && hit < 0; k++)
            if (memcmp(b->value.ptr, g->hash[k], g->size) == 0) hit = (int)k;
        if (hit >= 0) {
            n_ok++;
            json_array_append_new(matched, json_pack("{s:i, s:s, s:i}", "index", i, "rim", from[i],
                                                     "alternative", hit));
        } else {
            n_bad++;
            json_t *alts = json_array();
            for (size_t k = 0; k < g->n_alt; k++) json_array_append_new(alts, vt_json_hex_string(g->hash[k], g->size));
            json_array_append_new(mismatched,
                                  json_pack("{s:i, s:s, s:o, s:o}", "index", i, "rim", from[i], "runtime",
                                            b ? vt_json_hex_string(b->value.ptr, b->value.len) : json_null(),
                                            "golden", alts));
        }
    }
    vt_err rc = VT_OK;
    if (n_bad > 0) {
        char list[160] = "";
        size_t i;
        json_t *m;
        json_array_foreach(mismatched, i, m) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%lld", i ? "," : "",
                     (long long)json_integer_value(json_object_get(m, "index")));
        }
        rc = vt_check_fail(checks, err, "rim_measurements", VT_E_VERIFY,
                           "%zu of %zu golden measurements do not match (0-based index %s)", n_bad, n_ok + n_bad, list);
    } else {
        vt_check_pass(checks, "rim_measurements", "%zu golden measurements match", n_ok);
    }
    if (driver == NULL || vbios == NULL) {
        /* both checks are listed; the first failure stays the error */
        vt_error later;
        vt_err crc = vt_check_fail(checks, rc == VT_OK ? err : &later, "rim_coverage", VT_E_MISSING,
                                   "no %s RIM: %zu non-zero runtime measurement(s) not covered",
                                   driver == NULL ? "driver" : "VBIOS", json_array_size(uncovered));
        if (rc == VT_OK) rc = crc;
    }
    if (result != NULL) {
        *result = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "driver_rim", rim_ref(driver), "vbios_rim",
                            rim_ref(vbios), "matched", matched, "mismatched", mismatched, "skipped", skipped,
                            "not_covered", uncovered);
    } else {
        json_decref(matched);
        json_decref(mismatched);
        json_decref(skipped);
        json_decref(uncovered);
    }
    return rc;
}
