# chunkwatch — the two commands a new user needs are `make run` and `make test`.
# Both install the system packages they need (liblz4, libsqlite3, the lz4 tool)
# with apt-get when they are missing.

SWIFT        ?= swift
SYSTEM_DEPS  := liblz4-dev libsqlite3-dev lz4 pkg-config
# The tests also start a real Alertmanager and a real PostgreSQL (they skip
# those cases when missing); the proxy benchmark compares with haproxy; gdb
# prints the backtraces of a test run that hangs (scripts/test.sh).
TEST_DEPS    := prometheus-alertmanager postgresql haproxy gdb
SUDO         := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo)
BIN          := .build/release/chunkwatch

.PHONY: deps test-deps install-packages build run test fuzz bench clean

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(SYSTEM_DEPS)"

test-deps: deps
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_DEPS)"

install-packages:
	@missing=""; \
	for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build -c release --product chunkwatch

# The main job: the daemon on its embedded SQLite (./chunkwatch.db, archives
# in ./archive), fed a day of synthetic gateway traffic with injected anomalies;
# it prints how to tail the alerts from a second terminal.
run: build
	BIN=$(BIN) scripts/run-daemon.sh

# The test suite, then every fuzz target for FUZZ_SECONDS each after its
# committed inputs (docs/fuzzing.md). A run that hangs past TEST_TIMEOUT
# seconds fails with the tests still running and their backtraces.
TEST_TIMEOUT ?= 2400
test: test-deps
	SWIFT=$(SWIFT) TEST_TIMEOUT=$(TEST_TIMEOUT) scripts/test.sh
	@$(MAKE) --no-print-directory fuzz

# A fixed seed, so the suite walks the same inputs on every machine; run
# scripts/fuzz.sh without FUZZ_SEED to explore new ones.
FUZZ_SECONDS ?= 30
FUZZ_SEED    ?= 1
fuzz: deps
	SWIFT=$(SWIFT) FUZZ_SEED=$(FUZZ_SEED) scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

clean:
	rm -rf .build Benchmarks/.build Fuzz/.build-fuzz
