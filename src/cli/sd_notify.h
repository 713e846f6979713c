/* The systemd notification protocol (sd_notify(3)) without libsystemd: one datagram to the
 * unix socket named by $NOTIFY_SOCKET, for Type=notify services. */
#ifndef VT_CLI_SD_NOTIFY_H
#define VT_CLI_SD_NOTIFY_H

/* Sends state (e.g. "READY=1\nSTATUS=listening") to $NOTIFY_SOCKET. Returns 1 when sent, 0 when
 * not run under systemd (no $NOTIFY_SOCKET), -1 on an error (errno set). An abstract socket is
 * written "@name". Never blocks for long: the socket is datagram and non-blocking. */
int cli_sd_notify(const char *state);

#endif
