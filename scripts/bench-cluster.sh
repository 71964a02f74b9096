#!/bin/sh
# The cluster's scaling: tenants per minute with 1, 2 and 3 workers on one nats-server at
# 100 ms simulated latency, and the ratio to linear scaling; appended to BENCHMARKS.md.
set -eu
TENANTS=${TENANTS:-60}
OUT=$(mktemp)
for w in 1 2 3; do
  echo "cluster with $w worker(s) …" >&2
  WORKERS=$w TENANTS=$TENANTS LATENCY_MS=100 SUMMARY=1 sh scripts/cluster-demo.sh | tail -1 >>"$OUT"
done
python3 - "$OUT" "$TENANTS" <<'PY' | tee -a BENCHMARKS.md
import re, sys, datetime, os
lines = open(sys.argv[1]).read().splitlines()
rate = {}
for l in lines:
    m = re.match(r"(\d+) worker\(s\): .* = (\d+) tenants/min", l)
    if m:
        rate[int(m.group(1))] = int(m.group(2))
cpus = os.cpu_count()
print(f"\n## {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC — cluster scaling\n")
print(f"Command: `make bench-cluster` (scripts/bench-cluster.sh: {sys.argv[2]} tenants of 21 accounts, pages of 10, 100 ms simulated latency, one nats-server, workers on this {cpus}-core machine).\n")
print("| workers | tenants per minute | vs linear (1 worker × n) |\n|---|---|---|")
for w in sorted(rate):
    print(f"| {w} | {rate[w]} | {rate[w] / (rate[1] * w):.2f} |")
PY
rm -f "$OUT"
