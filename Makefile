# offsite — build, test and measure.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...

.PHONY: all build test test-long bench lint demo cross clean

all: lint test build

build:
	$(GO) build -o $(BIN)/offsite ./cmd/offsite
	$(GO) build -o $(BIN)/fakecloud ./cmd/fakecloud

# The suite CI runs: vet, then every test with the race detector. Long soak
# and kill-loop runs are behind -short=false plus the "long" tag (test-long).
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test-long:
	$(GO) test -race -count=1 -tags long -timeout 60m $(PKGS)

# Benchmarks print ratios against a baseline measured in the same run
# (cp for local copies, a raw HTTP PUT for the clouds); see docs/benchmarks.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./watcher/ ./daemon/ ./providers/...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -run 'TestLayers' ./internal/layers/

# A temp watch folder and a local destination: drop a file, see it uploaded.
demo: build
	./scripts/demo.sh

cross:
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o $(BIN)/offsite.exe ./cmd/offsite
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o $(BIN)/offsite-darwin-arm64 ./cmd/offsite

clean:
	rm -rf $(BIN)
