#!/bin/sh
# A fuzz campaign over every libFuzzer target (built by `make fuzz`, ASan+UBSan): each runs SECONDS
# (default 60) from a scratch copy of its checked-in corpus (new inputs are not written back), and the
# executions, exec/s and coverage of its last stats line go to build-fuzz/campaign.tsv; a crash, leak
# or sanitizer report stops with the reproducer kept in build-fuzz/campaign/NAME/.
# usage: scripts/fuzz_campaign.sh [SECONDS] [TARGET...]
set -u
S=${1:-60}
[ $# -gt 0 ] && shift
B=build-fuzz
out=$B/campaign.tsv
mkdir -p "$B/campaign"
targets=${*:-$(ls $B/bin-fuzz)}
printf 'target\tseconds\texecutions\texec_per_s\tcoverage\tresult\n' > "$out"
total=0
for t in $targets; do
    w=$B/campaign/$t
    rm -rf "$w" && mkdir -p "$w/corpus"
    "$B/bin-fuzz/$t" "$w/corpus" "fuzz/corpus/$t" -max_total_time="$S" -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$w/" > "$w/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$w/log" | tail -1 | cut -d' ' -f2)
    res=clean
    [ $rc -eq 0 ] || res="FAILED (exit $rc, see $w/log)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$S" "${execs:-0}" "${rate:-0}" "${cov:-0}" "$res" >> "$out"
    total=$((total + ${execs:-0}))
    echo "$t: ${execs:-0} executions, ${rate:-0}/s, cov ${cov:-0}: $res"
    rm -rf "$w/corpus"
done
echo "campaign: $total executions in all ($out)"
