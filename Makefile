# edgedns — the two commands of a fresh machine are `make run` and `make test`.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
SRC := $(shell find src -name '*.ts')
UNIT_TESTS := $(shell find test/unit -name '*.test.ts' | sort)
# The lab (network namespaces, BIRD, the fleet drills with their flood) runs alone, after the rest.
LAB_TESTS := test/integration/lab.test.ts
INTEGRATION_TESTS := $(filter-out $(LAB_TESTS),$(shell find test/integration -name '*.test.ts' | sort))
# One case per attack: the real node under hostile traffic on loopback (root for raw sockets).
HOSTILE_TESTS := $(shell find test/hostile -name '*.test.ts' 2>/dev/null | sort)
CONFORMANCE := ../shared/conformance/zone-compare.sh

.PHONY: run test unit integration hostile build typecheck lint format conformance clean help install uninstall test-node

help:
	@echo "make run          install, build, serve zones/ on 127.0.0.1:5353 (UDP and TCP)"
	@echo "make test         install what the tests need, build, run the whole suite"
	@echo "make lint         the formatter's check (prettier) and the type-aware linter (typescript-eslint)"
	@echo "make format       format the TypeScript and JavaScript with prettier"
	@echo "make unit | integration | hostile | typecheck | conformance | clean"
	@echo "make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=] [NODE=]   | make uninstall"
	@echo "make test-node V=22|24   unit and integration tests on another Node.js line"

# A node_modules that is a link (a git worktree sharing another checkout's) is left alone: npm ci
# would empty the folder it points to.
$(NODE_MODULES): package.json package-lock.json
	@if [ -L node_modules ]; then echo "node_modules is a link to $$(readlink node_modules): not reinstalling it here" >&2; \
	else npm ci --no-audit --no-fund && touch $@; fi

dist/main.js: $(NODE_MODULES) $(SRC) tsconfig.json
	npx tsc -p tsconfig.json
	@chmod +x dist/main.js

build: dist/main.js

run: build
	node dist/main.js serve

typecheck: $(NODE_MODULES)
	npx tsc -p tsconfig.test.json

# The code's format and the type-aware lint rules (eslint.config.js); .ci/run runs this first.
FORMATTED := '**/*.ts' '**/*.js'
lint: $(NODE_MODULES)
	npx prettier --check $(FORMATTED)
	npx eslint .

format: $(NODE_MODULES)
	npx prettier --write $(FORMATTED)

# The hostile tests run after the rest, one at a time: each loads the machine with its own attack
# and measures the node's answers to a legitimate client, not a neighbouring test's attack. The
# lab's drills last minutes (a 20 s flood among them): alone too, with a budget of their own. A
# hostile file may take minutes on a busy machine (reload-flood parses a 200k-record zone 2 × ~10
# times): 600 s each.
test: build typecheck
	@scripts/install-deps.sh test
	@scripts/install-deps.sh lab
	node --import tsx --test --test-concurrency=2 --test-timeout=180000 $(UNIT_TESTS) $(INTEGRATION_TESTS)
	node --import tsx --test --test-timeout=900000 $(LAB_TESTS)
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 $(HOSTILE_TESTS)

unit: build
	node --import tsx --test --test-timeout=60000 $(UNIT_TESTS)

integration: build
	@scripts/install-deps.sh test
	@scripts/install-deps.sh lab
	node --import tsx --test --test-concurrency=2 --test-timeout=180000 $(INTEGRATION_TESTS)
	node --import tsx --test --test-timeout=900000 $(LAB_TESTS)

hostile: build
	@scripts/install-deps.sh test
	node --import tsx --test --test-concurrency=1 --test-timeout=600000 $(HOSTILE_TESTS)

conformance: build
	$(CONFORMANCE) suite node $(CURDIR)/dist/main.js zone print

clean:
	rm -rf dist

# The test plan for another Node.js line: its binary from the npm registry (the node-OS-ARCH
# package that the `node` package installs), kept in .tmp/node-V, first on the PATH.
V ?= 22
NODE_PKG = node-$(shell node -p 'process.platform + "-" + process.arch')
test-node: build
	@test -x .tmp/node-$(V)/node_modules/$(NODE_PKG)/bin/node || \
	  npm install --prefix .tmp/node-$(V) --no-save --no-audit --no-fund --loglevel=error $(NODE_PKG)@$(V)
	PATH="$(CURDIR)/.tmp/node-$(V)/node_modules/$(NODE_PKG)/bin:$$PATH" $(MAKE) --no-print-directory unit integration

# --- install -------------------------------------------------------------------------------------
# make install PREFIX=/usr/local [DESTDIR=/staging] [SYSCONFDIR=/etc] [NODE=/usr/bin/node]
#   $(PREFIX)/lib/edgedns/                       the npm package (`npm pack` of this tree) and its
#                                                production dependencies, as package-lock.json pins them
#   $(PREFIX)/bin/edgedns                        launcher: the Node.js of NODE, then dist/main.js
#   $(PREFIX)/share/man/man1/edgedns.1           edgedns(1)
#   $(PREFIX)/share/bash-completion/completions/edgedns
#   $(PREFIX)/lib/systemd/system/edgedns.service, edgedns-guard.service   paths rewritten to PREFIX
#   $(PREFIX)/lib/sysusers.d/edgedns.conf        the edgedns user and group (systemd-sysusers)
#   $(SYSCONFDIR)/edgedns/edgedns.example.yaml   every key; the units read $(SYSCONFDIR)/edgedns/edgedns.yaml
# systemd reads units and sysusers.d under /usr/local/lib as well as /usr/lib. The config lives in
# /etc for the system prefixes (/usr, /usr/local: where the CLI looks by default), else in PREFIX.
# Dependencies come from npm's cache when it has them, else from the registry.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),/etc,$(PREFIX)/etc)
NODE ?= $(shell command -v node)
LIBDIR = $(PREFIX)/lib/edgedns
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
UNITS := edgedns.service edgedns-guard.service

# `build` has made dist/ (as the user, not as root under sudo): the pack skips prepack's rebuild.
install: build
	@test -x "$(NODE)" || { echo "make install: no Node.js at NODE='$(NODE)'; say which: make install NODE=/usr/bin/node" >&2; exit 1; }
	@case "$(PREFIX)" in /*) ;; *) echo "make install: PREFIX must be an absolute path, got '$(PREFIX)'" >&2; exit 1;; esac
	set -e; pack=$$(mktemp -d); trap 'rm -rf "$$pack"' EXIT; \
	  npm pack --ignore-scripts --silent --pack-destination "$$pack" >/dev/null; \
	  rm -rf "$(DESTDIR)$(LIBDIR)"; install -d "$(DESTDIR)$(LIBDIR)"; \
	  tar -xzf "$$pack"/edgedns-*.tgz -C "$(DESTDIR)$(LIBDIR)" --strip-components=1 --no-same-owner; \
	  cp package-lock.json "$(DESTDIR)$(LIBDIR)/"; \
	  cd "$(DESTDIR)$(LIBDIR)" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(COMPLETIONDIR)" \
	  "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(SYSCONFDIR)/edgedns"
	printf '#!/bin/sh\n# edgedns, installed by make install: this Node.js, this program.\nexec %s %s "$$@"\n' \
	  "'$(NODE)'" "'$(LIBDIR)/dist/main.js'" > "$(DESTDIR)$(PREFIX)/bin/edgedns"
	chmod 755 "$(DESTDIR)$(PREFIX)/bin/edgedns"
	install -m 644 deploy/man/edgedns.1 "$(DESTDIR)$(MANDIR)/man1/edgedns.1"
	install -m 644 deploy/completion/edgedns.bash "$(DESTDIR)$(COMPLETIONDIR)/edgedns"
	for u in $(UNITS); do \
	  sed -e 's#/usr/bin/edgedns#$(PREFIX)/bin/edgedns#g' -e 's#/etc/edgedns/edgedns.yaml#$(SYSCONFDIR)/edgedns/edgedns.yaml#g' \
	    deploy/systemd/$$u > "$(DESTDIR)$(UNITDIR)/$$u"; chmod 644 "$(DESTDIR)$(UNITDIR)/$$u"; done
	install -d "$(DESTDIR)$(UNITDIR)/bird.service.d"
	install -m 644 deploy/systemd/bird.service.d/edgedns-priority.conf "$(DESTDIR)$(UNITDIR)/bird.service.d/edgedns-priority.conf"
	install -m 644 deploy/systemd/edgedns.sysusers "$(DESTDIR)$(SYSUSERSDIR)/edgedns.conf"
	install -m 644 deploy/edgedns.example.yaml "$(DESTDIR)$(SYSCONFDIR)/edgedns/edgedns.example.yaml"
	@echo "installed under $(DESTDIR)$(PREFIX); next (as root): systemd-sysusers; systemctl daemon-reload;" \
	  "write $(SYSCONFDIR)/edgedns/edgedns.yaml; systemctl enable --now edgedns edgedns-guard"

# What install put there; the config and the edgedns user stay.
uninstall:
	rm -rf "$(DESTDIR)$(LIBDIR)"
	rm -f "$(DESTDIR)$(PREFIX)/bin/edgedns" "$(DESTDIR)$(MANDIR)/man1/edgedns.1" "$(DESTDIR)$(COMPLETIONDIR)/edgedns" \
	  $(foreach u,$(UNITS),"$(DESTDIR)$(UNITDIR)/$(u)") "$(DESTDIR)$(SYSUSERSDIR)/edgedns.conf" \
	  "$(DESTDIR)$(UNITDIR)/bird.service.d/edgedns-priority.conf" \
	  "$(DESTDIR)$(SYSCONFDIR)/edgedns/edgedns.example.yaml"

# --- the multi-site lab (root, iproute2, bird2, unbound, nftables, dnsperf) ----------------------
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
