/* veritee snp: SEV-SNP subcommands (the lead wires cmd_snp into main.c's dispatch). */
#ifndef VT_SNP_CLI_H
#define VT_SNP_CLI_H

/* veritee snp show [--product P] [--json] REPORT: every decoded field of a report. */
int cmd_snp(int argc, char **argv);

#endif
