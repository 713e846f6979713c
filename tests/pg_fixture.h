/* A real PostgreSQL for the store and audit tests: tests/pg-start.sh starts one from
 * Debian's packages on 127.0.0.1 (random port) in a temp dir; stopped at the end. */
#ifndef VT_PG_FIXTURE_H
#define VT_PG_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct pg_fixture {
    bool up;
    char dir[256];
    char url[256];
} pg_fixture;

static const char *pg_script_path(void)
{
    static char path[512];
    snprintf(path, sizeof path, "%s", __FILE__);
    char *slash = strrchr(path, '/');
    if (slash) snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "pg-start.sh");
    else snprintf(path, sizeof path, "pg-start.sh");
    return path;
}

/* Returns false and prints why when no server can be started (binaries absent). */
static bool pg_fixture_start(pg_fixture *f)
{
    memset(f, 0, sizeof *f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "sh %s start", pg_script_path());
    FILE *p = popen(cmd, "r");
    if (p == NULL) return false;
    char line[240];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        if (strncmp(line, "PGDIR=", 6) == 0) snprintf(f->dir, sizeof f->dir, "%s", line + 6);
        if (strncmp(line, "URL=", 4) == 0) snprintf(f->url, sizeof f->url, "%s", line + 4);
    }
    int st = pclose(p);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        printf("SKIP: PostgreSQL tests: postgres binaries are not installed (apt-get install postgresql)\n");
        return false;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !f->url[0]) {
        fprintf(stderr, "pg-start.sh failed (status %d)\n", st);
        exit(1); /* binaries present but the server did not start: that is a failure */
    }
    f->up = true;
    return true;
}

static void pg_fixture_stop(pg_fixture *f)
{
    if (!f->up) return;
    char cmd[800];
    snprintf(cmd, sizeof cmd, "sh %s stop %s", pg_script_path(), f->dir);
    if (system(cmd) != 0) fprintf(stderr, "pg-start.sh stop failed\n");
    f->up = false;
}

/* One psql query, first line of output into out (for looking at raw rows). */
static bool pg_fixture_query(const pg_fixture *f, const char *sql, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "psql -X -q -A -t '%s' -c \"%s\" 2>/dev/null", f->url, sql);
    FILE *p = popen(cmd, "r");
    if (p == NULL) return false;
    out[0] = 0;
    if (fgets(out, (int)cap, p)) out[strcspn(out, "\n")] = 0;
    while (fgets(cmd, sizeof cmd, p)) {
    }
    return pclose(p) == 0;
}

#endif
