/* A program outside the tree: built against the installed libveritee through pkg-config
 * (tests/cli_install.sh). Reads an SNP report, parses it, and shows that a truncated one is
 * refused with a named check. Exit 0 when both happen. */
#include <stdio.h>
#include <string.h>

#include <veritee/veritee.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer REPORT.bin\n");
        return 2;
    }
    vt_buf b = {0};
    vt_error e = {0};
    if (vt_file_read(argv[1], 1u << 20, &b, &e) != VT_OK) {
        fprintf(stderr, "read: %s\n", e.msg);
        return 2;
    }
    vt_snp_report r;
    if (vt_snp_report_parse(b.ptr, b.len, &r, &e) != VT_OK) {
        fprintf(stderr, "parse: %s\n", e.msg);
        vt_buf_free(&b);
        return 1;
    }
    char hex[2 * 8 + 1];
    vt_hex_encode(r.report_data, 8, hex);
    printf("report version %u, guest_svn %u, report_data %s...\n", (unsigned)r.version, (unsigned)r.guest_svn, hex);
    vt_error_clear(&e);
    vt_err rc = vt_snp_report_parse(b.ptr, b.len / 2, &r, &e);
    vt_buf_free(&b);
    if (rc == VT_OK || e.check[0] == 0) {
        fprintf(stderr, "a truncated report was accepted\n");
        return 1;
    }
    printf("truncated report refused: check %s: %s\n", e.check, e.msg);
    return 0;
}
