/* The console's static files: looked up in the table generated from ui/ at build time (no file
 * is read at run time, nothing is downloaded), and the Content-Security-Policy they are served
 * with. */
#include <string.h>

#include "ui_internal.h"

const vt_ui_asset *vt_ui_asset_find(const char *path)
{
    if (path == NULL) return NULL;
    if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0) path = "/index.html";
    else if (strncmp(path, "/ui/", 4) == 0) path += 3;
    for (size_t i = 0; i < vt_ui_assets_count; i++)
        if (strcmp(vt_ui_assets_table[i].path, path) == 0) return &vt_ui_assets_table[i];
    return NULL;
}

const char *vt_ui_csp(void)
{
    /* Everything from this origin only; no inline script or style (the pages set styles through
     * classes and CSSOM), no plugins, no framing, forms post nowhere else. */
    return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";
}
