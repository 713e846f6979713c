#!/bin/sh
# Seeds: an OCSP response and a CRL made by openssl for a throwaway CA (byte 0 selects the kind).
set -eu
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$t/ca.key" -subj /CN=seed -days 30 \
  -out "$t/ca.pem" 2>/dev/null
printf 'V\t991231235959Z\t\t01\tunknown\t/CN=x\n' >"$t/idx"
openssl ocsp -issuer "$t/ca.pem" -serial 1 -reqout "$t/req" -no_nonce >/dev/null 2>&1
openssl ocsp -index "$t/idx" -rsigner "$t/ca.pem" -rkey "$t/ca.key" -CA "$t/ca.pem" -reqin "$t/req" -respout "$t/resp" \
  -ndays 1 >/dev/null 2>&1
{ printf '\000'; cat "$t/resp"; } >"$1/ocsp_response"
mkdir -p "$t/db" && : >"$t/db/index" && echo 01 >"$t/db/n"
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/db/index\ncrlnumber=%s/db/n\ndefault_md=sha384\ndefault_crl_days=1\n' "$t" "$t" >"$t/c.cnf"
openssl ca -config "$t/c.cnf" -gencrl -keyfile "$t/ca.key" -cert "$t/ca.pem" -outform DER -out "$t/crl" 2>/dev/null ||
  openssl ca -config "$t/c.cnf" -gencrl -keyfile "$t/ca.key" -cert "$t/ca.pem" -out "$t/crl" 2>/dev/null
{ printf '\001'; cat "$t/crl"; } >"$1/crl"
