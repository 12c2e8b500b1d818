#!/bin/sh
# What `make install` puts under a prefix: headers, the library under its soname, lwquic.pc (which must build
# and link a program), the tools, their man pages and the license.
# usage: tests/tools/install.sh PREFIX_DIR      (the prefix as installed, e.g. BUILD/install-test/usr)
set -u
P=$1
failed=0
need() { [ -e "$P/$1" ] || { echo "FAIL install: $1 missing"; failed=1; }; }
for f in include/lwquic/quic.h include/lwquic/h3.h lib/liblwquic.a lib/liblwquic.so lib/pkgconfig/lwquic.pc \
    bin/lwquic-client bin/lwquic-server share/doc/lwquic/LICENSE share/man/man1/lwquic-client.1 \
    share/man/man1/lwquic-server.1 share/man/man1/lwquic-netsim.1 share/man/man1/lwquic-qpack.1; do
    need "$f"
done
soname=$(readelf -d "$P/lib/liblwquic.so" 2> /dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && need "lib/$soname"
flags=$(pkg-config --define-variable=prefix="$P" --cflags --libs lwquic 2> /dev/null ||
    PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --define-variable=prefix="$P" --cflags --libs lwquic)
# shellcheck disable=SC2086
PKG_CONFIG_PATH="$P/lib/pkgconfig" ${CC:-cc} -o "$P/../h3_server" examples/h3_server.c \
    $(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --define-variable=prefix="$P" --cflags --libs lwquic) -lpthread ||
    { echo "FAIL install: an example does not build with pkg-config's flags ($flags)"; failed=1; }
man -l "$P/share/man/man1/lwquic-client.1" > /dev/null 2>&1 || { echo "FAIL install: lwquic-client.1 does not render"; failed=1; }
[ $failed -eq 0 ] && echo "install: headers, $soname, lwquic.pc (links a program), tools, 4 man pages, LICENSE"
exit $failed
