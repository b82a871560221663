#!/usr/bin/env bash
# Batch-scan benchmarks (README "Batch scans", Measured): builds a corpus in a temporary folder
# (benches/tools/scan_corpus.rs: sample-sized bundles and upload-sized zips with a 20 MB Security
# log), then times, round after round, on this machine:
#   - SMALL separate `padtriage analyze` processes against one `padtriage scan` of the same bundles
#   - a scan with --db, then a rescan with nothing changed
#   - peak RSS of a scan of SMALL bundles and of 5 x SMALL (a manifest naming each bundle 5 times)
#   - `analyze` on one upload zip against `scan` of LARGE of them, at 2 threads and at 1
#   - what the machine itself gives a second thread: 8 analyze processes (--threads 1) one after
#     another against two streams of 4 side by side (on a busy machine this is well under 2x)
# Ratios are taken within a round (runs seconds apart, under the same background load); the
# script prints each round and the median, lowest and highest over the rounds.
#
#   benches/scan.sh [ROUNDS] [SMALL] [LARGE]        # defaults: 3 1000 16
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SMALL=${2:-1000}
LARGE=${3:-16}
cargo build --release --quiet --bin padtriage --example scan-corpus
B=$PWD/target/release/padtriage
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
target/release/examples/scan-corpus "$WORK/corpus" --small "$SMALL" --large "$LARGE"
C=$WORK/corpus
ONE=$C/large/upload-0001.zip
ZIP_BYTES=$(stat -c %s "$ONE")
for _ in 1 2 3 4 5; do ls -d "$C"/small/*; done > "$WORK/manifest5"

# wall seconds, CPU seconds, peak RSS in MB of one command (its output discarded).
measure() {
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" > /dev/null 2> "$WORK/err" || true
    tail -1 "$WORK/t" | awk '{ printf "%s %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }'
}

sequential() {
    for _ in 1 2 3 4 5 6 7 8; do "$B" --threads 1 analyze "$ONE" > /dev/null; done
}
side_by_side() {
    (for _ in 1 2 3 4; do "$B" --threads 1 analyze "$ONE" > /dev/null; done) &
    (for _ in 1 2 3 4; do "$B" --threads 1 analyze "$ONE" > /dev/null; done)
    wait
}
separate() {
    for b in "$C"/small/*; do "$B" analyze "$b" --format json > /dev/null; done
}
export -f separate sequential side_by_side
export B C ONE

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round sep_s scan_s scan_db_s rescan_s rss_small_mb rss_5x_mb analyze1_s scan_t2_s scan_t1_s rss_large_mb seq_s side_s" > "$WORK/rounds"
for r in $(seq "$ROUNDS"); do
    read -r sep _ _ < <(measure bash -c separate)
    read -r scan _ rss_small < <(measure "$B" scan "$C/small" --format ndjson)
    rm -f "$WORK/scan.db"*
    read -r scan_db _ _ < <(measure "$B" scan "$C/small" --db "$WORK/scan.db")
    read -r rescan _ _ < <(measure "$B" scan "$C/small" --db "$WORK/scan.db")
    read -r _ _ rss_5x < <(measure "$B" scan --manifest "$WORK/manifest5" --format ndjson)
    read -r a1 _ _ < <(measure "$B" analyze "$ONE" --format json)
    read -r t2 _ rss_large < <(measure "$B" --threads 2 scan "$C/large" --format ndjson)
    read -r t1 _ _ < <(measure "$B" --threads 1 scan "$C/large" --format ndjson)
    read -r seq _ _ < <(measure bash -c sequential)
    read -r side _ _ < <(measure bash -c side_by_side)
    echo "$r $sep $scan $scan_db $rescan $rss_small $rss_5x $a1 $t2 $t1 $rss_large $seq $side" |
        tee -a "$WORK/rounds"
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK/rounds" "$SMALL" "$LARGE" "$ZIP_BYTES" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])][1:]
small, large, zip_bytes = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = lambda r, i: float(r[i])
ratios = {
    "scan speed-up over separate analyze processes (>= 10x)": [f(r, 1) / f(r, 2) for r in rows],
    "sample-sized bundles per hour, one scan (>= 20000)": [small / f(r, 2) * 3600 for r in rows],
    "rescan of unchanged bundles, seconds (< 1)": [f(r, 4) for r in rows],
    "scan bytes/s over analyze's on one upload zip (>= 0.8)":
        [(large * zip_bytes / f(r, 8)) / (zip_bytes / f(r, 7)) for r in rows],
    "scan speed-up 1 -> 2 threads, upload zips (>= 1.7x)": [f(r, 9) / f(r, 8) for r in rows],
    "the machine's own 1 -> 2 speed-up (processes side by side)": [f(r, 11) / f(r, 12) for r in rows],
    "peak RSS MB, worst scan (< 200)":
        [max(f(r, 5), f(r, 6), f(r, 10)) for r in rows],
}
print(f"\n{small} sample-sized bundles, {large} upload zips of {zip_bytes / 1e6:.1f} MB, {len(rows)} rounds")
print(f"{'':58} {'median':>10} {'lowest':>10} {'highest':>10}")
for name, v in ratios.items():
    print(f"{name:58} {statistics.median(v):10.2f} {min(v):10.2f} {max(v):10.2f}")
PY
