#!/bin/sh
# `make cluster-demo`: a local nats-server, the simulator, WORKERS workers and TENANTS
# simulated tenants; enqueue a sync of each, show progress, print a summary. Everything runs
# on 127.0.0.1 and stops at the end. With SUMMARY=1 only the summary line is printed (the
# scaling benchmark uses it).
set -eu
WORKERS=${WORKERS:-3}
TENANTS=${TENANTS:-300}
LATENCY_MS=${LATENCY_MS:-30}
SUBACCOUNTS=${SUBACCOUNTS:-20}
SUMMARY=${SUMMARY:-0}
CONNECTOR=${CONNECTOR:-target/release/connector}
NATS_BIN=$(sh scripts/nats-server.sh)
DIR=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
say() { [ "$SUMMARY" = 1 ] || echo "$@"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

NATS_PORT=$(port); SIM_PORT=$(port)
"$NATS_BIN" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DIR/js" >"$DIR/nats.log" 2>&1 & PIDS="$PIDS $!"
"$CONNECTOR" sim --generate "$SUBACCOUNTS" --latency-ms "$LATENCY_MS" --listen "127.0.0.1:$SIM_PORT" >"$DIR/sim.log" 2>&1 & PIDS="$PIDS $!"
sleep 1
SID=$(grep -o 'main account AC[0-9a-f]*' "$DIR/sim.log" | cut -d' ' -f3)
# The generated fixture's main account token (a demo value, not a secret of anyone's).
export CLUSTER_DEMO_TOKEN=generated-main-token
export CONNECTOR_NATS="nats://127.0.0.1:$NATS_PORT"
i=0
while [ "$i" -lt "$TENANTS" ]; do
  printf '[[tenant]]\nname = "tenant-%03d"\naccount_sid = "%s"\nauth_token_env = "CLUSTER_DEMO_TOKEN"\npage_size = 10\n\n' "$i" "$SID"
  i=$((i + 1))
done >"$DIR/tenants.toml"
say "nats-server on 127.0.0.1:$NATS_PORT, simulator on 127.0.0.1:$SIM_PORT ($SUBACCOUNTS subaccounts, ${LATENCY_MS} ms), $WORKERS workers, $TENANTS tenants"
w=0
while [ "$w" -lt "$WORKERS" ]; do
  "$CONNECTOR" worker --tenants "$DIR/tenants.toml" --connect-to "127.0.0.1:$SIM_PORT" --id "worker-$w" >"$DIR/worker-$w.log" 2>&1 & PIDS="$PIDS $!"
  w=$((w + 1))
done
# Workers compile nothing twice: wait until each has announced itself.
until [ "$("$CONNECTOR" cluster status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["workers"]))')" -ge "$WORKERS" ]; do sleep 0.5; done
START=$(date +%s.%N)
"$CONNECTOR" enqueue --tenants "$DIR/tenants.toml" | while read -r line; do say "$line"; done
while :; do
  S=$("$CONNECTOR" cluster status --json)
  DONE=$(echo "$S" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["snapshots"], s["queued"], s["in_flight"], len(s["failures"]))')
  set -- $DONE
  [ "$SUMMARY" = 1 ] || printf '\r  snapshots %s/%s  queued %s  in flight %s  failures %s ' "$1" "$TENANTS" "$2" "$3" "$4"
  if [ "$1" -ge "$TENANTS" ] && [ "$2" -eq 0 ] && [ "$3" -eq 0 ]; then break; fi
  sleep 0.5
done
END=$(date +%s.%N)
say ""
ACCOUNTS=$("$CONNECTOR" results | wc -l)
python3 - "$START" "$END" "$TENANTS" "$WORKERS" "$ACCOUNTS" <<'PY'
import sys
start, end, tenants, workers, accounts = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
secs = end - start
print(f"{workers} worker(s): {tenants} tenants synced in {secs:.1f} s = {tenants / secs * 60:.0f} tenants/min; {accounts} accounts in the snapshots")
PY
[ "$SUMMARY" = 1 ] || { echo "one tenant's snapshot (connector results --tenant tenant-000), first line:"; "$CONNECTOR" results --tenant tenant-000 | head -1; }
