# edgedns — the two commands of a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
SRC := $(shell find src -name '*.ts')
UNIT_TESTS := $(shell find test/unit -name '*.test.ts' | sort)
INTEGRATION_TESTS := $(shell find test/integration -name '*.test.ts' | sort)
# One case per attack: the real node under hostile traffic on loopback (root for raw sockets).
HOSTILE_TESTS := $(shell find test/hostile -name '*.test.ts' 2>/dev/null | sort)
CONFORMANCE := ../shared/conformance/zone-compare.sh

.PHONY: run test unit integration hostile build typecheck conformance clean help

help:
	@echo "make run          install, build, serve zones/ on 127.0.0.1:5353 (UDP and TCP)"
	@echo "make test         install what the tests need, build, run the whole suite"
	@echo "make unit | integration | hostile | typecheck | conformance | clean"

$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

dist/main.js: $(NODE_MODULES) $(SRC) tsconfig.json
	npx tsc -p tsconfig.json
	@chmod +x dist/main.js

build: dist/main.js

run: build
	node dist/main.js serve

typecheck: $(NODE_MODULES)
	npx tsc -p tsconfig.test.json

# The hostile tests run after the rest, one at a time: each loads the machine with its own attack
# and measures the node's answers to a legitimate client, not a neighbouring test's attack.
test: build typecheck
	@scripts/install-deps.sh test
	node --import tsx --test --test-concurrency=2 --test-timeout=180000 $(UNIT_TESTS) $(INTEGRATION_TESTS)
	node --import tsx --test --test-concurrency=1 --test-timeout=180000 $(HOSTILE_TESTS)

unit: build
	node --import tsx --test --test-timeout=60000 $(UNIT_TESTS)

integration: build
	@scripts/install-deps.sh test
	node --import tsx --test --test-concurrency=2 --test-timeout=180000 $(INTEGRATION_TESTS)

hostile: build
	@scripts/install-deps.sh test
	node --import tsx --test --test-concurrency=1 --test-timeout=180000 $(HOSTILE_TESTS)

conformance: build
	$(CONFORMANCE) suite node $(CURDIR)/dist/main.js zone print

clean:
	rm -rf dist

# --- the multi-site lab (root, iproute2, bird2) -------------------------------------------------
.PHONY: lab-up lab-down lab-status drill


lab-up: build
	@scripts/install-deps.sh lab
	deploy/lab/lab.sh up

lab-down:
	deploy/lab/lab.sh down

lab-status: build
	deploy/lab/lab.sh status

# make drill RUNS=5 SCENARIOS="drain crash" RATE=200
RUNS ?= 5
RATE ?= 200
SCENARIOS ?=
drill: build
	node --import tsx deploy/lab/drill.ts --runs $(RUNS) --rate $(RATE) $(SCENARIOS)

# --- benchmarks (dnsperf, Unbound and python3, installed when missing) ----------------------------
# The dnsperf workloads, then the hostile table (one fresh node per attack; root for the raw
# socket of the port-0 attack). A narrower run: node --import tsx bench/run.ts --workloads hostile
.PHONY: bench
bench: build
	@scripts/install-deps.sh bench
	node --import tsx bench/run.ts
