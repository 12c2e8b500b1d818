#!/bin/sh
# liblwquic.so exports exactly the functions the public headers declare: none missing, none extra, every one
# lwq_-prefixed (the library is built with -fvisibility=hidden and the headers mark the API with LWQ_API).
# Also checks the library's soname and that lwquic.pc names the license and no library it does not need.
# usage: tests/tools/symbols.sh BUILD
set -u
B=${1:-build}
W=$B/tools-symbols
rm -rf "$W" && mkdir -p "$W"
so=$B/lib/liblwquic.so
[ -f "$so" ] || { echo "symbols: $so missing"; exit 1; }
for h in include/lwquic/*.h; do echo "#include \"${h#include/}\""; done > "$W/all.c"
# -aux-info writes one prototype a line for every function declared, with the header it came from
${CC:-cc} -Iinclude -fsyntax-only -aux-info "$W/decl.aux" "$W/all.c" || { echo "symbols: headers do not compile"; exit 1; }
grep 'include/lwquic/' "$W/decl.aux" | sed 's/^\/\*[^*]*\*\/ *//; s/ (.*//' | awk '{ print $NF }' | tr -d '*' |
    sort -u > "$W/declared"
nm -D --defined-only "$so" | awk '{ print $3 }' | grep -v '^\(_init\|_fini\|_edata\|_end\|__bss_start\)$' |
    sort -u > "$W/exported"
failed=0
missing=$(comm -23 "$W/declared" "$W/exported")
extra=$(comm -13 "$W/declared" "$W/exported")
unprefixed=$(grep -v '^lwq_' "$W/exported")
[ -z "$missing" ] || { echo "FAIL declared but not exported:" $missing; failed=1; }
[ -z "$extra" ] || { echo "FAIL exported but not declared:" $extra; failed=1; }
[ -z "$unprefixed" ] || { echo "FAIL exported without the lwq_ prefix:" $unprefixed; failed=1; }
[ "$(wc -l < "$W/declared")" -gt 100 ] || { echo "FAIL only $(wc -l < "$W/declared") declarations found"; failed=1; }
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $soname in
liblwquic.so.[0-9]*) ;;
*) echo "FAIL soname '$soname'"; failed=1 ;;
esac
pc=$B/lwquic.pc
if [ -f "$pc" ]; then
    grep -q '^License: BSD-2-Clause$' "$pc" || { echo "FAIL $pc names no license"; failed=1; }
    ! grep -q 'mbedx509' "$pc" || { echo "FAIL $pc lists -lmbedx509, which the library does not use"; failed=1; }
    ! readelf -d "$so" | grep -q 'NEEDED.*mbedx509' || { echo "FAIL the library needs libmbedx509"; failed=1; }
fi
echo "symbols: $(wc -l < "$W/exported") exported = $(wc -l < "$W/declared") declared in include/lwquic, soname $soname"
exit $failed
