/* The ui layer's private pieces: the table of built-in files, generated at build time from
 * ui/ by cmake/embed_ui.cmake into <build>/ui_assets.c. */
#ifndef VT_UI_INTERNAL_H
#define VT_UI_INTERNAL_H

#include "veritee/ui.h"

extern const vt_ui_asset vt_ui_assets_table[];
extern const size_t vt_ui_assets_count;

#endif
