#!/bin/sh
# Print the path of a scim2 executable (PyPI's scim2-cli, whose `scim2 test` runs the
# scim2-tester compliance checks), installing the pinned versions first into a venv under
# target/scim2-venv when they are not there yet. Install output goes to stderr; only the
# path goes to stdout. Set SCIM2 to an executable to use that one instead.
set -e
if [ -n "$SCIM2" ] && [ -x "$SCIM2" ]; then echo "$SCIM2"; exit 0; fi

# scim2-cli pulls scim2-tester itself; the whole family is pinned as tested together.
PINS="scim2-cli==0.6.0 scim2-tester==0.5.2 scim2-client==0.13.2 scim2-models==0.12.3"

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/target/scim2-venv"
stamp="$venv/.installed-pins"

installed() {
  [ -x "$venv/bin/scim2" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$PINS" ]
}

if installed; then echo "$venv/bin/scim2"; exit 0; fi

fail() { echo "scripts/scim2-cli.sh: $*" >&2; exit 1; }

mkdir -p "$root/target"
# One installer at a time (parallel `make test` runs share target/).
lock="$venv.lock"
waited=0
until mkdir "$lock" 2>/dev/null; do
  [ "$waited" -ge 300 ] && fail "timed out waiting for $lock (remove it if no install is running)"
  sleep 1; waited=$((waited + 1))
done
trap 'rmdir "$lock" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

if ! installed; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || fail "scim2-cli needs python3 >= 3.11 on PATH"
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 \
    || { rm -rf "$venv"; fail "could not create a venv at $venv (python3 -m venv failed)"; }
  # shellcheck disable=SC2086
  PIP_NO_INPUT=1 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $PINS >&2 \
    || { rm -rf "$venv"; fail "could not install $PINS from PyPI"; }
  [ -x "$venv/bin/scim2" ] || { rm -rf "$venv"; fail "no scim2 executable after installing scim2-cli"; }
  echo "$PINS" > "$stamp"
fi
echo "$venv/bin/scim2"
