# offsite — build, test and measure.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...

.PHONY: all build test test-long bench lint demo cross dist version clean fidelity screenshot

all: lint test build

# `offsite version` names what was built; the same stamps as make dist.
BUILDINFO = github.com/offsite-backup/offsite/internal/buildinfo
STAMP   = -X $(BUILDINFO).version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev) \
          -X $(BUILDINFO).commit=$$(git rev-parse HEAD 2>/dev/null || echo none) \
          -X $(BUILDINFO).date=$$(date -u -d @$$(git log -1 --format=%ct 2>/dev/null || echo 0) +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags "$(STAMP)" -o $(BIN)/offsite ./cmd/offsite
	$(GO) build -o $(BIN)/fakecloud ./cmd/fakecloud

# The suite CI runs: vet, then every test with the race detector. test-long
# adds the 30 s bandwidth transfer and a 100-kill crash loop.
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test-long:
	OFFSITE_LONG=1 OFFSITE_KILLS=100 $(GO) test -race -count=1 -timeout 60m $(PKGS)

# Benchmarks print ratios against a baseline measured in the same run
# (cp for local copies, a raw HTTP PUT for the clouds); see docs/benchmarks.md.
bench:
	OFFSITE_BENCH_MB=$${OFFSITE_BENCH_MB:-2048} $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./watcher/ ./daemon/ ./codec/
	OFFSITE_BENCH_MB=$${OFFSITE_CLOUD_MB:-256} $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./providers/gdrive/ ./providers/dropbox/ ./providers/onedrive/

# The Windows-only files (service, share-delete opens, drive letters) are
# vetted too, so they keep compiling on a Linux CI.
# staticcheck (includes unused) and errcheck are pinned as tools in go.mod;
# .errcheck-excludes lists the few calls whose error is deliberately dropped;
# errcheck skips the emulators and the test proxy, which are test fixtures.
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	$(GO) tool errcheck -ignoretests -exclude .errcheck-excludes $$($(GO) list $(PKGS) | grep -v -e /fake -e /mitm)
	$(GO) test -count=1 -run 'TestLayers' ./internal/layers/

# A temp watch folder and a local destination: drop a file, see it uploaded.
demo: build
	./scripts/demo.sh

# rclone (a widely used third-party client) against the emulators, through an
# HTTPS proxy with a test CA: the pinned current release (built once into
# ~/.cache/offsite) and the distribution's older build (installed if missing).
fidelity:
	./scripts/fidelity.sh

# docs/status-page.png: the status page of a test shop with its USB disk
# unplugged, taken by the browser test in chromium.
screenshot:
	$(GO) test -count=1 -run '^TestStatusPageInBrowser$$' ./internal/app/ -screenshot $(CURDIR)/docs/status-page.png

cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o $(BIN)/offsite.exe ./cmd/offsite
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o $(BIN)/offsite-darwin-arm64 ./cmd/offsite

# Release archives for every platform (cgo off) plus SHA256SUMS, into dist/;
# TARGETS="linux/amd64" narrows it. See scripts/dist.sh.
dist:
	GO=$(GO) ./scripts/dist.sh

# The version `make dist` stamps into the archives.
version:
	@git describe --tags --always --dirty

clean:
	rm -rf $(BIN) dist
