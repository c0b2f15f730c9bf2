# Carebooth. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ifeq ($(origin GO),undefined)
GO := $(shell scripts/setup go)
endif
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/carebooth/carebooth/firmware/version.version=$(VERSION)
BIN     := bin
STATE   ?= $(CURDIR)/state
PREFIX  ?= /usr/local
# The race detector needs cgo, which we have anyway (libvpx, libopus).
TESTFLAGS ?= -race -timeout 20m

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## install the system packages building needs (libvpx, libopus, pkg-config)
	@scripts/setup build

.PHONY: build
build: deps ## build switchboard, boothd and boothctl into bin/
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

.PHONY: run
run: build ## run a switchboard and a simulated booth with demo data (Ctrl-C stops)
	@STATE=$(STATE) BIN=$(BIN) scripts/run-demo

.PHONY: test
test: ## install what tests need, then vet and run every test with the race detector
	@scripts/setup test
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...
	@$(MAKE) --no-print-directory fuzz-short

.PHONY: fuzz-short
# FUZZTIME is a count of executions, not a duration: Go 1.26's fuzz coordinator can report
# a spurious "context deadline exceeded" when a duration ends (go.dev/issue/75804).
# FuzzLayout draws every screen per input, so it gets a smaller budget (about 10 s here).
FUZZTIME ?= 100000x
FUZZTIME_SLOW ?= 5000x

fuzz-short: ## a short run of every fuzz target (FUZZTIME executions each)
	@for pkg in $$($(GO) list ./... ); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    n=$(FUZZTIME); case $$f in FuzzLayout) n=$(FUZZTIME_SLOW);; esac; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$n $$pkg || exit 1; \
	  done; \
	done

.PHONY: bench
bench: deps ## benchmarks: join latency, boothd CPU and RSS, capture-to-render latency and render/playout CPU, codecs, report and import, outbox and event replay, mDNS records and table (figures and ratios printed)
	@scripts/setup test
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./e2e/
	$(GO) test -run '^$$' -bench . -benchmem ./media/...
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./switchboard/report/ ./switchboard/schedimport/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./booth/ ./switchboard/
	$(GO) test -run '^$$' -bench . -benchmem ./provisioning/discovery/

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

.PHONY: build-arm64
build-arm64: ## cross-build for a Raspberry Pi (arm64, Debian multiarch libraries)
	@scripts/setup arm64
	@mkdir -p $(BIN)/arm64
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	  PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig \
	  $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/arm64/ ./cmd/...

.PHONY: deb
deb: build ## build a Debian package of the three binaries and their systemd units
	@scripts/make-deb $(VERSION) $(BIN)

.PHONY: install
install: build ## install the binaries and systemd units under $(PREFIX) and /etc/systemd/system
	install -D -m 0755 $(BIN)/switchboard $(DESTDIR)$(PREFIX)/bin/switchboard
	install -D -m 0755 $(BIN)/boothd $(DESTDIR)$(PREFIX)/bin/boothd
	install -D -m 0755 $(BIN)/boothctl $(DESTDIR)$(PREFIX)/bin/boothctl
	install -D -m 0644 systemd/boothd.service $(DESTDIR)/etc/systemd/system/boothd.service
	install -D -m 0644 systemd/switchboard.service $(DESTDIR)/etc/systemd/system/switchboard.service

.PHONY: clean
clean: ## remove build output (not the demo state; `rm -rf state` for that)
	rm -rf $(BIN)
