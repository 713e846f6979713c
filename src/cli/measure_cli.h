/* veritee measure: helpers shared by the snp / tdx / cca subcommands (CLI layer only). */
#ifndef VT_CLI_MEASURE_H
#define VT_CLI_MEASURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "veritee/codec.h"
#include "veritee/err.h"

/* Largest kernel / initrd / firmware file read whole. */
#define MEASURE_FILE_MAX (1024u << 20)

/* One reference value: {"tee","name","alg","value","inputs","provenance"}; steals inputs. */
json_t *measure_value(const char *tee, const char *name, const char *alg, const uint8_t *v,
                      size_t n, json_t *inputs, const char *method);
/* Print values (one object, or an array when several) or, with hex, one line per value.
 * Steals values (a JSON array). Returns the exit code. */
int measure_print(json_t *values, bool hex);
/* Read a file whole; prints the error and returns false on failure. */
bool measure_read(const char *what, const char *path, vt_buf *out);
/* SHA-256 hex of bytes (for the "inputs" record). */
json_t *measure_sha256_hex(const uint8_t *p, size_t n);
/* Parse an unsigned integer (decimal or 0x hex) into *out within [0, max]. */
bool measure_parse_u64(const char *what, const char *s, uint64_t max, uint64_t *out);
/* Print "veritee measure <tee>: <msg>" for an error; returns the exit code. */
int measure_fail(const char *tee, const vt_error *e);

int cmd_measure_snp(int argc, char **argv);
int cmd_measure_tdx(int argc, char **argv);
int cmd_measure_cca(int argc, char **argv);

#endif
