/* veritee emulate gpu-evidence: emulated NVIDIA GPU evidence (Trustee's device_evidence_list
 * JSON) from an emulator directory whose platform has an "nvidia" section. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "veritee/emulate.h"
#include "veritee/fileio.h"

int cli_emulate_gpu_evidence(int argc, char **argv)
{
    const char *dir = NULL, *nonce_hex = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nonce") == 0 && i + 1 < argc) nonce_hex = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) out = argv[++i];
        else if (dir == NULL && argv[i][0] != '-') dir = argv[i];
        else dir = NULL, i = argc;
    }
    vt_error e;
    vt_error_clear(&e);
    uint8_t nonce[32] = {0};
    vt_buf n = {0};
    if (dir == NULL || nonce_hex == NULL || vt_hex_decode(nonce_hex, strlen(nonce_hex), &n, &e) != VT_OK ||
        n.len == 0 || n.len > 64) {
        fprintf(stderr, "usage: veritee emulate gpu-evidence DIR --nonce HEX(1..64 bytes) [-o FILE]\n");
        vt_buf_free(&n);
        return VT_EXIT_USAGE;
    }
    memcpy(nonce, n.ptr, n.len < 32 ? n.len : 32); /* the GPU nonce: first 32 bytes, zero-padded */
    vt_buf_free(&n);
    vt_emu *emu = NULL;
    vt_buf ev = {0};
    vt_err rc = vt_emu_open(dir, &emu, &e);
    if (rc == VT_OK) rc = vt_emu_nvidia_evidence(emu, nonce, &ev, &e);
    if (rc == VT_OK && out != NULL) rc = vt_file_write(out, ev.ptr, ev.len, &e);
    else if (rc == VT_OK && fwrite(ev.ptr, 1, ev.len, stdout) != ev.len) rc = VT_E_IO;
    vt_emu_free(emu);
    vt_buf_free(&ev);
    if (rc != VT_OK) {
        fprintf(stderr, "veritee emulate gpu-evidence: %s\n", e.msg);
        return rc == VT_E_MISSING ? VT_EXIT_MISSING : VT_EXIT_USAGE;
    }
    return VT_EXIT_OK;
}
