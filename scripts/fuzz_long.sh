#!/bin/sh
# Runs every libFuzzer target of build-fuzz/bin-fuzz for FUZZ_SECONDS each (make fuzz-long), one after the
# other, from the checked-in seeds plus a working corpus kept in build-fuzz/fuzz-long/corpus/NAME, and
# records per target: executions, exec/s, coverage (cov: and ft: of libFuzzer's last status line), corpus
# size, the result (ok, or crash/leak/timeout/oom with the artifact) and a target's own note (a line
# "fuzz-stats: ..." it prints at exit under LWQ_FUZZ_STATS=1, e.g. packets sent) in build-fuzz/fuzz-long.tsv.
# Usage: scripts/fuzz_long.sh BUILD_DIR SECONDS [target...]
set -u
build=${1:-build-fuzz}
secs=${2:-60}
shift 2 2>/dev/null || shift $#
out=$build/fuzz-long
tsv=$build/fuzz-long.tsv
mkdir -p "$out"
if [ $# -gt 0 ]; then
  targets="$*"
else
  targets=$(ls "$build/bin-fuzz" 2>/dev/null)
fi
[ -n "$targets" ] || { echo "fuzz-long: no targets in $build/bin-fuzz (make fuzz)"; exit 1; }
printf 'target\tseconds\texecs\texec_per_s\tcov\tft\tcorpus\tresult\tnote\n' > "$tsv"
fail=0
for t in $targets; do
  bin=$build/bin-fuzz/$t
  [ -x "$bin" ] || { echo "fuzz-long: no $bin"; fail=1; continue; }
  mkdir -p "$out/corpus/$t"
  log=$out/$t.log
  LWQ_FUZZ_STATS=1 "$bin" -max_total_time="$secs" -timeout=30 -print_final_stats=1 -artifact_prefix="$out/$t-" \
    "$out/corpus/$t" "fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  status=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$status" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$status" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$status" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  result=ok
  if [ $rc -ne 0 ]; then
    fail=1
    kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer): [a-z-]+' "$log" |
      sed 's/.*: //')
    art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
    result="${kind:-exit $rc}${art:+ $art}"
  fi
  note=$(sed -n 's/^fuzz-stats: //p' "$log" | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$secs" "${execs:-0}" "${eps:-0}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$result" "$note" >> "$tsv"
  printf '%-18s %10s execs %7s exec/s  cov %5s  ft %6s  %s%s\n' "$t" "${execs:-0}" "${eps:-0}" "${cov:-?}" "${ft:-?}" \
    "$result" "${note:+  ($note)}"
done
awk -F'\t' 'NR > 1 { n += $3 } END { printf "fuzz-long: %d executions in total; table in %s\n", n, FILENAME }' "$tsv"
exit $fail
