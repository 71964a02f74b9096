#!/bin/sh
# `make serve-demo`: the simulator with the demo fixture and `connector serve` in front of it,
# on 127.0.0.1, with a fresh read-write client; prints working curl lines, then serves until
# Ctrl-C. PORT= changes the server's port (default 8443).
set -eu
CONNECTOR=${CONNECTOR:-target/debug/connector}
PORT=${PORT:-8443}
DIR=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

SIM_PORT=$(port)
"$CONNECTOR" sim --listen "127.0.0.1:$SIM_PORT" >"$DIR/sim.log" 2>&1 & PIDS="$PIDS $!"
# The demo fixture's main account and token (demo values, not a secret of anyone's).
TWILIO_ACCOUNT_SID=$(python3 -c 'import json; d=json.load(open("simulator/fixtures/demo.json")); print(d["main_account_sid"])')
TWILIO_AUTH_TOKEN=$(python3 -c 'import json; d=json.load(open("simulator/fixtures/demo.json")); print(next(a["auth_token"] for a in d["accounts"] if a["sid"] == d["main_account_sid"]))')
TWILIO_FLEX_INSTANCE_SID=GO0000000000000000000000000000e001
export TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_FLEX_INSTANCE_SID

"$CONNECTOR" serve new-client demo >"$DIR/new-client.txt"
TOKEN=$(sed -n 2p "$DIR/new-client.txt")
sed -n '/^\[\[client\]\]/,$p' "$DIR/new-client.txt" | sed 's/^access = "read"$/access = "read-write"/' >"$DIR/clients.toml"

"$CONNECTOR" serve --listen "127.0.0.1:$PORT" --clients "$DIR/clients.toml" \
  --connect-to "127.0.0.1:$SIM_PORT" --audit "$DIR/audit.jsonl" 2>"$DIR/serve.log" & PIDS="$PIDS $!"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 300 ] || { cat "$DIR/serve.log" >&2; exit 1; }; sleep 0.1
done
BASE="http://127.0.0.1:$PORT/scim/v2/default"
echo "SCIM 2.0 over the simulator (demo fixture), tenant 'default', apps twilio, flex, frontline."
echo "Bearer token of client 'demo' (read-write): $TOKEN"
echo
LIST="curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/twilio/Users?filter=active%20eq%20true&attributes=userName,displayName'"
echo "  $LIST"
echo "  curl -s -H 'Authorization: Bearer $TOKEN' '$BASE/flex/Groups?excludedAttributes=members'"
echo "  curl -s -X PATCH -H 'Authorization: Bearer $TOKEN' -H 'Content-Type: application/scim+json' \\"
echo "       -d '{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],\"Operations\":[{\"op\":\"replace\",\"path\":\"active\",\"value\":false}]}' \\"
echo "       '$BASE/twilio/Users/AC0000000000000000000000000000b001'"
echo
echo "Audit: $DIR/audit.jsonl. Ctrl-C stops the server and the simulator."
if [ "${SERVE_DEMO_CHECK:-0}" = 1 ]; then
  # Used by the e2e test: run the first line as printed, then stop.
  eval "$LIST"
  exit 0
fi
wait
