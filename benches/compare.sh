#!/usr/bin/env bash
# Times padtriage against the reference `evtx_dump -o jsonl` (evtx crate 0.15.1) on large
# inputs built from the real logs in shared/real-evtx, and prints the ratios the README quotes.
#
#   benches/compare.sh [SIZE_MB] [ROUNDS]        defaults: 500 MB, 3 rounds
#
# Inputs (made in a temporary folder, deleted at the end; KEEP=1 keeps it):
#   big.evtx  one log of SIZE_MB: the 64 KiB chunks of every real log, repeated, behind one file
#             header (record ids renumbered, header and chunk checksums fixed; see
#             benches/tools/concat_evtx.rs). Two of the real logs have damaged records: they
#             stay, so both tools report the same read errors.
#   many/     the same bytes as 500 logs of SIZE_MB/500 each.
#   pad.log   a PAD log line with a failed run, so `analyze` has a run to diagnose.
#
# Each round runs, alternating, at 1 then 2 threads: evtx_dump -t N, padtriage timeline
# --format jsonl (every relevant event, no time window), padtriage analyze, and both padtriage
# commands on many/. Every output goes to /dev/null; padtriage runs with --no-progress. Wall
# time, CPU time and peak RSS come from /usr/bin/time; ratios use the median of the rounds.
# The machine's load average is printed: on a shared machine, compare ratios, not seconds.
set -euo pipefail

size_mb=${1:-500}
rounds=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
real=${REAL_EVTX:-}
if [[ -z "$real" ]]; then
  for d in "$repo/../shared/real-evtx" "$repo/../../shared/real-evtx"; do
    [[ -d "$d" ]] && real=$(cd "$d" && pwd) && break
  done
fi
[[ -n "$real" && -d "$real" ]] || { echo "compare.sh: no shared/real-evtx folder (set REAL_EVTX)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "compare.sh: needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

# The reference: evtx_dump from the evtx crate 0.15.1 (its binary is called evtx_dump).
if ! evtx_dump --version 2>/dev/null | grep -q '0\.15\.1'; then
  echo "installing evtx_dump (evtx 0.15.1) with cargo install..." >&2
  cargo install evtx --version 0.15.1 --locked >&2
fi
dump=$(command -v evtx_dump)

echo "building padtriage --release..." >&2
(cd "$repo" && cargo build --release --quiet --bin padtriage --example concat-evtx)
target=${CARGO_TARGET_DIR:-$repo/target}
pt="$target/release/padtriage"
concat="$target/release/examples/concat-evtx"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/padtriage-compare.XXXXXX")
if [[ "${KEEP:-}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; fi
bytes=$((size_mb * 1024 * 1024))
"$concat" "$tmp/big.evtx" "$bytes" "$real"/*.evtx
"$concat" "$tmp/many" "$bytes" --files 500 "$real"/*.evtx
cat > "$tmp/pad.log" <<'EOF'
{"eventTimestamp":"2015-08-23T10:52:10.000Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid. Error code: -1073741715","eventData":{"userName":"WIN-L0ZZQ76PMUF\\Guest"}}
EOF
big_bytes=$(stat -c %s "$tmp/big.evtx")
many_bytes=$(du -cb "$tmp"/many/*.evtx | tail -1 | cut -f1)

results="$tmp/results.tsv"
: > "$results"
# run NAME THREADS CMD...: one timed run, appended to the results as name, threads, wall s,
# user s, sys s, peak RSS KiB.
run() {
  local name=$1 threads=$2; shift 2
  local status=0
  /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$@" > /dev/null 2> "$tmp/stderr" || status=$?
  # padtriage exits 3 when input was partly unreadable (the damaged real logs): expected.
  if [[ $status -ne 0 && $status -ne 3 ]]; then
    echo "compare.sh: $name failed with status $status:" >&2
    tail -5 "$tmp/stderr" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\n' "$name" "$threads" "$(tail -1 "$tmp/time" | tr ' ' '\t')" >> "$results"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  (cores: $(nproc))"
echo "inputs: big.evtx $big_bytes bytes; many/ 500 files, $many_bytes bytes"
for ((r = 1; r <= rounds; r++)); do
  for t in 1 2; do
    run evtx_dump "$t" "$dump" -o jsonl -t "$t" "$tmp/big.evtx"
    run timeline "$t" "$pt" --no-progress --threads "$t" timeline --format jsonl "$tmp/big.evtx"
    run analyze "$t" "$pt" --no-progress --threads "$t" analyze "$tmp/big.evtx" "$tmp/pad.log"
    run timeline_many "$t" "$pt" --no-progress --threads "$t" timeline --format jsonl "$tmp/many"
    run analyze_many "$t" "$pt" --no-progress --threads "$t" analyze "$tmp/many" "$tmp/pad.log"
  done
  echo "round $r of $rounds done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# Medians per (command, threads), then the ratios.
awk -F'\t' -v big="$big_bytes" -v many="$many_bytes" '
  { k = $1 SUBSEP $2; n[k]++; wall[k, n[k]] = $3; cpu[k, n[k]] = $4 + $5
    if ($6 > rss[k]) rss[k] = $6 }
  function median(a, k, cnt,   i, j, v, t) {
    for (i = 1; i <= cnt; i++) v[i] = a[k, i]
    for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
  }
  END {
    split("evtx_dump timeline analyze timeline_many analyze_many", names, " ")
    printf "%-14s %3s %9s %9s %12s\n", "command", "thr", "wall s", "cpu s", "peak RSS MB"
    for (i = 1; i <= 5; i++) for (t = 1; t <= 2; t++) {
      k = names[i] SUBSEP t
      W[names[i], t] = median(wall, k, n[k]); C[names[i], t] = median(cpu, k, n[k])
      printf "%-14s %3d %9.2f %9.2f %12.1f\n", names[i], t, W[names[i], t], C[names[i], t], rss[k] / 1024
    }
    print ""
    print "padtriage / evtx_dump wall time (target <= 0.5):"
    for (t = 1; t <= 2; t++)
      printf "  %d thread(s): timeline %.2f, analyze %.2f   (cpu time: %.2f, %.2f)\n", t,
        W["timeline", t] / W["evtx_dump", t], W["analyze", t] / W["evtx_dump", t],
        C["timeline", t] / C["evtx_dump", t], C["analyze", t] / C["evtx_dump", t]
    print "1 -> 2 threads speed-up, wall (target >= 1.7):"
    printf "  timeline %.2fx, analyze %.2fx, many-files timeline %.2fx, analyze %.2fx; evtx_dump %.2fx\n",
      W["timeline", 1] / W["timeline", 2], W["analyze", 1] / W["analyze", 2],
      W["timeline_many", 1] / W["timeline_many", 2], W["analyze_many", 1] / W["analyze_many", 2],
      W["evtx_dump", 1] / W["evtx_dump", 2]
    print "many small files / one big file, wall time per byte (target <= 1.0):"
    for (t = 1; t <= 2; t++)
      printf "  %d thread(s): timeline %.2f, analyze %.2f\n", t,
        (W["timeline_many", t] / many) / (W["timeline", t] / big),
        (W["analyze_many", t] / many) / (W["analyze", t] / big)
    m = 0
    for (k in rss) if (k !~ /^evtx_dump/ && rss[k] > m) m = rss[k]
    printf "padtriage peak RSS, all runs (target < 100 MB): %.1f MB\n", m / 1024
  }' "$results"
