# Build, test and run the sandboxed Twilio governance connector.
# `make demo` and `make test` work on a fresh machine: they install what they need.

CARGO     ?= cargo
COMPONENT := target/wasm32-wasip2/component/twilio_connector.wasm
HOSTILE   := target/wasm32-wasip2/component/hostile_plugin.wasm

.PHONY: setup component hostile build release demo cluster-demo serve-demo test test-unit test-e2e test-crate lint bench profile profile-guest bench-cluster fuzz clean

## Install the wasm target (idempotent).
setup:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

## The connector component (small: opt-level s, LTO, abort on panic, stripped).
component: setup
	$(CARGO) build -p twilio-connector --target wasm32-wasip2 --profile component
	@ls -l $(COMPONENT)

## The hostile test component used by the security tests.
hostile: setup
	$(CARGO) build -p hostile-plugin --target wasm32-wasip2 --profile component

## The CLI at target/debug/connector plus the component: the same build `make test` uses
## (dependencies optimised, see Cargo.toml), so a newcomer compiles wasmtime once.
build: component
	$(CARGO) build -p connector-cli --bin connector

## The fully optimised CLI at target/release/connector (for operators; a build of its own).
release: component
	$(CARGO) build --release -p connector-cli --bin connector

## Start the simulator with the demo fixture, sync every app through the component, stop.
demo: build
	./target/debug/connector demo

## A local nats-server, the simulator, three workers and 300 tenants: sync them all on the
## cluster, with progress and a summary (WORKERS=, TENANTS=, LATENCY_MS= to change).
cluster-demo: release
	sh scripts/cluster-demo.sh

## The simulator and `connector serve` in front of it on 127.0.0.1, with a fresh client:
## prints working curl lines (PORT= to change 8443), serves until Ctrl-C.
serve-demo: build
	sh scripts/serve-demo.sh

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p twilio-connector -p hostile-plugin -p legacy-plugin --target wasm32-wasip2 -- -D warnings
	$(CARGO) clippy -p hostile-plugin --features greedy --target wasm32-wasip2 -- -D warnings

## The whole suite: formatting, lints, unit tests, end-to-end tests (real component, real
## host, real simulator over loopback). The e2e crate's build script builds both guests.
test: lint
	$(CARGO) build -p connector-cli --bin connector
	NATS_SERVER="$$(sh scripts/nats-server.sh)" SCIM2="$$(sh scripts/scim2-cli.sh)" $(CARGO) test --workspace

## Unit and property tests of every crate (no wasm, no simulator).
test-unit: setup
	$(CARGO) test --workspace --exclude connector-e2e

## The end-to-end tests only: one binary, guests built once by its build script.
test-e2e: setup
	$(CARGO) build -p connector-cli --bin connector
	NATS_SERVER="$$(sh scripts/nats-server.sh)" SCIM2="$$(sh scripts/scim2-cli.sh)" $(CARGO) test -p connector-e2e

## One crate's tests: make test-crate CRATE=connector-host
test-crate: setup
	@test -n "$(CRATE)" || { echo "usage: make test-crate CRATE=<package> (e.g. connector-host, twilio-connector, connector-e2e)"; exit 2; }
	@if [ "$(CRATE)" = connector-e2e ]; then $(CARGO) build -p connector-cli --bin connector; fi
	$(CARGO) test -p $(CRATE)

clean:
	$(CARGO) clean

## Fuzz the response parsers for FUZZ_SECONDS each (not part of `make test`).
FUZZ_SECONDS ?= 30
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && for t in list_page usage_records worker_attributes error_body; do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## Benchmarks (not part of `make test`): prints a table and appends it to BENCHMARKS.md.
bench: component
	python3 -m pip install --quiet --disable-pip-version-check 'twilio>=9,<10' || echo "warning: could not install Twilio's Python library; its comparison is skipped"
	$(CARGO) build --release -p connector-bench
	./target/release/connector-bench
	$(CARGO) bench -p connector-bench --bench instantiate
	$(MAKE) bench-cluster

## Where the CPU goes during syncs (perf, sampled once the first sync starts; timings not recorded).
profile: component
	$(CARGO) build --release -p connector-bench
	sh scripts/profile-sync.sh

## The same, with the guest's compiled functions named: a host build with wasmtime's perf map
## and a component that keeps its function names, both kept apart in target/perfmap (the first
## build compiles wasmtime again, about 20 min on 2 cores).
profile-guest: setup
	CARGO_TARGET_DIR=target/perfmap $(CARGO) build --release -p connector-bench --features perfmap
	CARGO_TARGET_DIR=target/perfmap CARGO_PROFILE_COMPONENT_STRIP=false $(CARGO) build -p twilio-connector --target wasm32-wasip2 --profile component
	BENCH_PLUGIN=target/perfmap/wasm32-wasip2/component/twilio_connector.wasm PROFILE_BIN=target/perfmap/release/connector-bench sh scripts/profile-sync.sh

## Tenants per minute with 1, 2 and 3 workers at 100 ms, appended to BENCHMARKS.md.
bench-cluster: release
	sh scripts/bench-cluster.sh
