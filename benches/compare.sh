#!/usr/bin/env bash
# Times padtriage against the reference `evtx_dump -o jsonl` (evtx crate 0.15.1) on large
# inputs built from the real logs in shared/real-evtx, and prints the ratios the README quotes,
# for each of two inputs.
#
#   benches/compare.sh [SIZE_MB] [ROUNDS] [INPUTS]    defaults: 500 MB, 3 rounds, "mixed security"
#
# PADTRIAGE=path times that padtriage binary instead of this checkout's release build.
# Inputs (made in a temporary folder, deleted at the end; KEEP=1 keeps it), each of SIZE_MB:
#   mixed     the 64 KiB chunks of every real log, repeated, behind one file header (record ids
#             renumbered, header and chunk checksums fixed; see benches/tools/concat_evtx.rs).
#             Two of the real logs have damaged records: they stay, so both tools report the
#             same read errors. About a quarter of the records are kept.
#   security  the same, from the three real Security logs only (security.evtx,
#             Security_with_size_t.evtx, post-Security.evtx): logons and their special
#             privileges, as on a busy server; about half of the records are kept.
# Each as one log (INPUT.evtx) and as the same bytes in 500 logs (INPUT-many/), and pad.log, a
# PAD log line with a failed run in both inputs' time range, so `analyze` has a run to diagnose.
#
# Each round runs, for each input, alternating, at 1 then 2 threads: evtx_dump -t N, padtriage
# timeline --format jsonl (every relevant event, no time window), padtriage analyze, and both
# padtriage commands on the 500 logs. Every output goes to /dev/null; padtriage runs with
# --no-progress. Wall time, CPU time and peak RSS come from /usr/bin/time; each ratio is taken
# within a round and the median over the rounds is printed, with its range.
# The machine's load average is printed: on a shared machine, compare ratios, not seconds.
set -euo pipefail

size_mb=${1:-500}
rounds=${2:-3}
inputs=${3:-mixed security}
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
# PADTRIAGE=path times another build (an older one, say) on the same inputs.
pt=${PADTRIAGE:-$target/release/padtriage}
concat="$target/release/examples/concat-evtx"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/padtriage-compare.XXXXXX")
if [[ "${KEEP:-}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; fi
bytes=$((size_mb * 1024 * 1024))
for input in $inputs; do
  case $input in
    mixed) logs=("$real"/*.evtx) ;;
    security) logs=("$real/security.evtx" "$real/Security_with_size_t.evtx" "$real/post-Security.evtx") ;;
    *) echo "compare.sh: unknown input $input (mixed, security)" >&2; exit 2 ;;
  esac
  "$concat" "$tmp/$input.evtx" "$bytes" "${logs[@]}"
  "$concat" "$tmp/$input-many" "$bytes" --files 500 "${logs[@]}"
done
cat > "$tmp/pad.log" <<'EOF'
{"eventTimestamp":"2015-08-23T10:52:10.000Z","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid. Error code: -1073741715","eventData":{"userName":"WIN-L0ZZQ76PMUF\\Guest"}}
EOF

results="$tmp/results.tsv"
: > "$results"
# run NAME THREADS CMD...: one timed run, appended to the results as input, name, threads,
# wall s, user s, sys s, peak RSS KiB, round.
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
  printf '%s\t%s\t%s\t%s\t%s\n' "$input" "$name" "$threads" "$(tail -1 "$tmp/time" | tr ' ' '\t')" "$r" >> "$results"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)  (cores: $(nproc))"
for ((r = 1; r <= rounds; r++)); do
  for input in $inputs; do
    log="$tmp/$input.evtx" many="$tmp/$input-many"
    for t in 1 2; do
      run evtx_dump "$t" "$dump" -o jsonl -t "$t" "$log"
      run timeline "$t" "$pt" --no-progress --threads "$t" timeline --format jsonl "$log"
      run analyze "$t" "$pt" --no-progress --threads "$t" analyze "$log" "$tmp/pad.log"
      run timeline_many "$t" "$pt" --no-progress --threads "$t" timeline --format jsonl "$many"
      run analyze_many "$t" "$pt" --no-progress --threads "$t" analyze "$many" "$tmp/pad.log"
    done
  done
  echo "round $r of $rounds done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

# report INPUT: the table and ratios of one input, from its rows of the results.
# Medians per (command, threads); each ratio is taken within a round (the runs it compares
# ran seconds apart, under the same background load) and the median of those is printed, with
# the range over the rounds.
report() {
  local input=$1 big_bytes many_bytes records lines
  big_bytes=$(stat -c %s "$tmp/$input.evtx")
  many_bytes=$(du -cb "$tmp/$input-many"/*.evtx | tail -1 | cut -f1)
  # (padtriage exits 3 on the damaged logs of the mixed input.)
  records=$({ "$pt" --no-progress inventory --format json "$tmp/$input.evtx" 2>/dev/null || true; } |
    grep -o '"records": *[0-9]*' | head -1 | grep -o '[0-9]*$')
  lines=$({ "$pt" --no-progress timeline --format jsonl "$tmp/$input.evtx" 2>/dev/null || true; } | wc -l)
  echo
  echo "== $input: $big_bytes bytes, ${records:-?} records, $lines timeline lines; 500 logs of $many_bytes bytes in all"
  grep "^$input	" "$results" | cut -f2- |
    awk -F'\t' -v big="$big_bytes" -v many="$many_bytes" -v rounds="$rounds" '
      { k = $1 SUBSEP $2; n[k]++; wall[k, n[k]] = $3; cpu[k, n[k]] = $4 + $5
        w[$1, $2, $7] = $3
        if ($6 > rss[k]) rss[k] = $6 }
      function median(a, k, cnt,   i, j, v, t) {
        for (i = 1; i <= cnt; i++) v[i] = a[k, i]
        for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        lo = v[1]; hi = v[cnt]
        return cnt % 2 ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2
      }
      # Median over the rounds of (a at ta) / (b at tb), scaled; sets lo and hi.
      function paired(a, ta, b, tb, scale,   r, q) {
        for (r = 1; r <= rounds; r++) q["x", r] = scale * w[a, ta, r] / w[b, tb, r]
        return median(q, "x", rounds)
      }
      function show(label, v) { printf "%s %.2f (%.2f-%.2f)", label, v, lo, hi }
      END {
        split("evtx_dump timeline analyze timeline_many analyze_many", names, " ")
        printf "%-14s %3s %9s %9s %12s\n", "command", "thr", "wall s", "cpu s", "peak RSS MB"
        for (i = 1; i <= 5; i++) for (t = 1; t <= 2; t++) {
          k = names[i] SUBSEP t
          W[names[i], t] = median(wall, k, n[k]); C[names[i], t] = median(cpu, k, n[k])
          printf "%-14s %3d %9.2f %9.2f %12.1f\n", names[i], t, W[names[i], t], C[names[i], t], rss[k] / 1024
        }
        print ""
        print "Ratios: median over the rounds of each round'"'"'s ratio (lowest-highest round)."
        print "padtriage / evtx_dump wall time (target <= 0.5):"
        for (t = 1; t <= 2; t++) {
          printf "  %d thread(s):", t
          show(" timeline", paired("timeline", t, "evtx_dump", t, 1))
          show(", analyze", paired("analyze", t, "evtx_dump", t, 1))
          print ""
        }
        print "1 -> 2 threads speed-up, wall (target >= 1.7):"
        printf " "
        show(" timeline", paired("timeline", 1, "timeline", 2, 1))
        show(", analyze", paired("analyze", 1, "analyze", 2, 1))
        print ""
        printf " "
        show(" many files: timeline", paired("timeline_many", 1, "timeline_many", 2, 1))
        show(", analyze", paired("analyze_many", 1, "analyze_many", 2, 1))
        show("; evtx_dump", paired("evtx_dump", 1, "evtx_dump", 2, 1))
        print ""
        print "many small files / one big file, wall time per byte (target <= 1.0):"
        for (t = 1; t <= 2; t++) {
          printf "  %d thread(s):", t
          show(" timeline", paired("timeline_many", t, "timeline", t, big / many))
          show(", analyze", paired("analyze_many", t, "analyze", t, big / many))
          print ""
        }
        m = 0
        for (k in rss) if (k !~ /^evtx_dump/ && rss[k] > m) m = rss[k]
        printf "padtriage peak RSS, all runs (target < 100 MB): %.1f MB\n", m / 1024
      }'
}

for input in $inputs; do
  report "$input"
done
