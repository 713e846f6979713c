/* libFuzzer target: the QMP client reading hostile bytes from "QEMU" (src/vm/qmp.c): one
 * message parsed alone, then the whole byte stream played over a socketpair through the
 * greeting, capability negotiation and a query-status. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "veritee/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vt_qmp_msg m;
    vt_error e;
    if (vt_qmp_parse_message((const char *)data, size, &m, &e) == VT_OK) vt_qmp_msg_free(&m);

    int sv[2];
    if (size > 150000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    size_t off = 0;
    while (off < size) {
        ssize_t w = send(sv[1], data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR); /* EOF after the script: no waiting on timeouts */
    vt_qmp *q = NULL;
    if (vt_qmp_open_fd(sv[0], 100, &q, &e) == VT_OK) {
        char st[32];
        (void)vt_qmp_query_status(q, st, sizeof st, &e);
        json_t *r = NULL;
        if (vt_qmp_execute(q, "query-sev-capabilities", NULL, &r, &e) == VT_OK) json_decref(r);
        vt_qmp_close(q);
    }
    close(sv[1]);
    return 0;
}
