#!/bin/sh
# Where the CPU goes while syncs run, not while the bench builds its fixtures: starts
# connector-bench (one section, default the ceiling at a limit of 200), waits until its first
# sync begins, then samples the process with `perf record` for PROFILE_SECONDS and prints the
# split by thread (tokio-rt-worker: the host's HTTP, answer projection and hygiene;
# connector-bench: the guest's JIT code and the host calls it makes; simulator) and each
# thread's hottest symbols. The run's timings are perturbed by the sampling, so BENCHMARKS.md
# is left as it was; record timings with `make bench`, not with this.
set -eu
SECONDS_TO_SAMPLE=${PROFILE_SECONDS:-5}
export BENCH_ONLY=${BENCH_ONLY:-ceiling}
export BENCH_CEILING_LIMITS=${BENCH_CEILING_LIMITS:-200}
export BENCH_RUNS=${BENCH_RUNS:-1}
# `make profile-guest` runs a build whose wasmtime writes /tmp/perf-<pid>.map, so the guest's
# compiled functions are named in the report instead of `[JIT]` addresses.
BIN=${PROFILE_BIN:-./target/release/connector-bench}
command -v perf >/dev/null || { echo "profile: perf is not installed" >&2; exit 1; }
[ -x "$BIN" ] || { echo "profile: $BIN is not built: run make profile (or make profile-guest), which builds it" >&2; exit 1; }
WORK=$(mktemp -d)
cp BENCHMARKS.md "$WORK/BENCHMARKS.md"
PID=
MAPPED=
# Whatever way this ends (perf refused, no sync, ^C), the bench is stopped before BENCHMARKS.md
# is put back, so it cannot append to it afterwards.
restore() {
  [ -z "$PID" ] || kill "$PID" 2>/dev/null || true
  [ -z "$PID" ] || wait "$PID" 2>/dev/null || true
  [ -z "$MAPPED" ] || rm -f "/tmp/perf-$MAPPED.map"
  cp "$WORK/BENCHMARKS.md" BENCHMARKS.md && rm -rf "$WORK"
}
trap restore EXIT
trap 'exit 130' INT TERM
"$BIN" >"$WORK/bench.log" 2>&1 &
PID=$!
MAPPED=$PID
# The bench prints "first sync of …" when a section's first sync starts.
i=0
until grep -q "sync of" "$WORK/bench.log"; do
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/bench.log" >&2; echo "profile: the bench ended before a sync started" >&2; exit 1; }
  i=$((i + 1)); [ "$i" -lt 6000 ] || { echo "profile: no sync started in 5 min" >&2; exit 1; }
  sleep 0.05
done
perf record -q -F 999 -p "$PID" -o "$WORK/perf.data" -- sleep "$SECONDS_TO_SAMPLE" 2>/dev/null
wait "$PID" || true
PID=
grep '^| ' "$WORK/bench.log" || true
echo
echo "share of samples by thread and object:"
perf report -i "$WORK/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null | grep '%' | head -12
for comm in tokio-rt-worker connector-bench simulator; do
  echo
  echo "hottest symbols in $comm:"
  perf report -i "$WORK/perf.data" --no-children --comm "$comm" --sort symbol --stdio -g none 2>/dev/null \
    | grep '%' | cut -c1-140 | head -"${PROFILE_TOP:-15}"
done
