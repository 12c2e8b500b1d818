#!/bin/sh
# QPACK compression report: lwquic's encoder on every QIF of the offline-interop corpus at
# each table size / blocked-stream limit / ack mode, against static-only (table size 0) and
# against the ls-qpack and nghttp3 encodings of the same input. Every lwquic encoding is
# decoded back and compared with its QIF.
#   bench/qpack.sh [BUILD_DIR] [--update]   (--update rewrites the table in docs/qpack.md)
set -eu
BUILD=${1:-build}
UPDATE=${2:-}
SHARED=${LWQ_SHARED:-../shared}
Q=$SHARED/vectors/qifs
TOOL=$BUILD/bin/lwquic-qpack
[ -x "$TOOL" ] || make -s BUILD="$BUILD" "$TOOL" >/dev/null
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# payload bytes (sections + encoder stream) of a record file, via the decoder's -v report
payload() {
    "$TOOL" decode -v -t "$2" -s "$3" "$1" "$TMP/other.qif" 2>&1 >/dev/null |
        sed -n 's/.*: \([0-9]*\) section bytes, \([0-9]*\) encoder-stream bytes.*/\1 \2/p'
}

{
echo "| QIF | table | blocked | ack | sections | encoder stream | total | vs static-only | ls-qpack | nghttp3 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for qif in fb-req fb-resp netbsd; do
    base=
    for t in 0 256 512 4096; do
        for s in 0 100; do
            for a in 0 1; do
                "$TOOL" encode -v -t $t -s $s -a $a "$Q/qifs/$qif.qif" "$TMP/enc" 2>"$TMP/log"
                "$TOOL" decode -t $t -s $s "$TMP/enc" "$TMP/dec.qif"
                grep -v '^#' "$Q/qifs/$qif.qif" > "$TMP/want"
                grep -v '^#' "$TMP/dec.qif" > "$TMP/got"
                cmp -s "$TMP/want" "$TMP/got" || { echo "round trip failed: $qif $t $s $a" >&2; exit 1; }
                set -- $(sed -n 's/.*: \([0-9]*\) field sections: \([0-9]*\) section bytes, \([0-9]*\) encoder.*/\2 \3/p' "$TMP/log")
                sec=$1 enc=$2 total=$(($1 + $2))
                [ -n "$base" ] || base=$total
                ls=$(payload "$Q/encoded/qpack-05/ls-qpack/$qif.out.$t.$s.$a" $t $s | awk '{print $1 + $2}')
                ng=$(payload "$Q/encoded/qpack-05/nghttp3/$qif.out.$t.$s.$a" $t $s | awk '{print $1 + $2}')
                pct=$(awk -v a=$total -v b=$base 'BEGIN {printf "%.1f%%", 100 * a / b}')
                echo "| $qif | $t | $s | $a | $sec | $enc | $total | $pct | $ls | $ng |"
            done
        done
    done
done
} > "$TMP/table.md"

if [ "$UPDATE" = "--update" ]; then
    awk -v table="$TMP/table.md" '
        /<!-- qpack-bench-begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
        /<!-- qpack-bench-end -->/ { skip = 0 }
        !skip { print }' docs/qpack.md > "$TMP/doc.md"
    cp "$TMP/doc.md" docs/qpack.md
    echo "docs/qpack.md updated"
else
    cat "$TMP/table.md"
fi
