/* Internal to the `veritee evidence` command: its subcommands split over files. */
#ifndef VT_EVIDENCE_CLI_H
#define VT_EVIDENCE_CLI_H

/* veritee evidence extend (src/cli/evidence_extend.c); argv[0] is "extend". */
int cli_evidence_extend(int argc, char **argv);

#endif
