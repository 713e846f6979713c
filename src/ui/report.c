/* `veritee verify --html FILE`: the explorer's view of one analysis as a single self-contained
 * HTML file: the console's style sheet and its rendering module inlined, the analysis as an
 * inert JSON data block. No network, no server. */
#include <stdlib.h>
#include <string.h>

#include "veritee/ui.h"
#include "ui_internal.h"

static vt_err add(vt_buf *b, const void *p, size_t n, vt_error *err)
{
    uint8_t *q = realloc(b->ptr, b->len + n + 1);
    if (q == NULL) return vt_error_set(err, VT_E_NOMEM, "ui.html", "out of memory");
    memcpy(q + b->len, p, n);
    b->ptr = q;
    b->len += n;
    return VT_OK;
}

static vt_err adds(vt_buf *b, const char *s, vt_error *err) { return add(b, s, strlen(s), err); }

/* The module text without its `export` keywords, so it runs as a classic inline script. */
static vt_err add_script(vt_buf *b, const vt_ui_asset *a, vt_error *err)
{
    const char *p = (const char *)a->data, *end = p + a->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl + 1 : end;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        if (strncmp(p, "import ", 7) != 0) VT_GUARD(add(b, p, (size_t)(le - p), err));
        p = le;
    }
    return VT_OK;
}

vt_err vt_ui_html_report(const json_t *analysis, vt_buf *out, vt_error *err)
{
    const vt_ui_asset *css = vt_ui_asset_find("/css/console.css");
    const vt_ui_asset *js = vt_ui_asset_find("/js/render.js");
    if (css == NULL || js == NULL) return vt_error_set(err, VT_E_INTERNAL, "ui.html", "console assets missing from the build");
    char *data = json_dumps(analysis, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (data == NULL) return vt_error_set(err, VT_E_NOMEM, "ui.html", "out of memory");
    /* "</" inside the data block would end it: JSON allows escaping the solidus */
    size_t n = 0;
    for (const char *p = data; *p; p++) n += *p == '/' ? 2 : 1;
    vt_buf d = {malloc(n + 1), 0};
    vt_err rc = d.ptr ? VT_OK : vt_error_set(err, VT_E_NOMEM, "ui.html", "out of memory");
    for (const char *p = data; *p && d.ptr; p++) {
        if (*p == '/') d.ptr[d.len++] = '\\';
        d.ptr[d.len++] = (uint8_t)*p;
    }
    free(data);
    if (rc == VT_OK) rc = adds(out, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                                    "<title>veritee: evidence analysis</title><style>\n", err);
    if (rc == VT_OK) rc = add(out, css->data, css->len, err);
    if (rc == VT_OK) rc = adds(out, "</style></head><body><header class=\"top\"><h1>veritee evidence analysis</h1></header>"
                                    "<main id=\"main\" class=\"report\"><div id=\"result\"></div></main>"
                                    "<script type=\"application/json\" id=\"analysis\">", err);
    if (rc == VT_OK) rc = add(out, d.ptr, d.len, err);
    if (rc == VT_OK) rc = adds(out, "</script><script>\n", err);
    if (rc == VT_OK) rc = add_script(out, js, err);
    if (rc == VT_OK) rc = adds(out, "\nrenderAnalysis(document.getElementById('result'), "
                                    "JSON.parse(document.getElementById('analysis').textContent), {standalone: true});\n"
                                    "</script></body></html>\n", err);
    vt_buf_free(&d);
    return rc;
}
