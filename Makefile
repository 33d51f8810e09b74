# ofp — see README.md. `make run` and `make test` are all a newcomer needs.
GO       ?= go
BIN      := bin/ofp
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
GOBIN    ?= $(shell $(GO) env GOPATH)/bin
VERSITYGW_VERSION := v1.8.0

.PHONY: run build test test-short bench fuzz tools postgres vet fmt clean

## run: the whole platform on embedded defaults (Kafka, S3, DuckDB, simulated ecosystem)
run: build
	./$(BIN) demo

## build: bin/ofp
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ofp

## test: every test (unit, integration against PostgreSQL and real S3 servers, end-to-end, crash tests)
test: tools postgres
	PATH="$(GOBIN):$$PATH" $(GO) test -count=1 -timeout 30m ./...

## test-short: the fast tests only
test-short:
	$(GO) test -short -count=1 ./...

## bench: throughput, latency and memory beside baselines measured in the same run
bench: build
	$(GO) run ./cmd/ofpbench
	./$(BIN) bench

## fuzz: run each fuzz target for FUZZTIME (default 30s). Each new
## interesting input is minimized FUZZMINIMIZE (default 10 runs): Go's
## default, up to 60 s per input, stalls the targets whose seeds are whole
## pages (0 execs/s for minutes); a failing input is still written out.
FUZZTIME ?= 30s
FUZZMINIMIZE ?= 10x
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

## tools: what the tests need besides Go: versitygw (a real S3 server) and Debian's chromium (browser tests)
tools:
	@command -v chromium >/dev/null || \
	  (echo "installing chromium (headless browser for the portal and console tests)"; \
	   (apt-get update -qq || sudo apt-get update -qq) && \
	   (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || \
	    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null))
	@test -x "$(GOBIN)/versitygw" || command -v versitygw >/dev/null || \
	  (echo "installing versitygw $(VERSITYGW_VERSION) (a real S3 server for the tests, ~2 min)"; \
	   $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION))

## postgres: make sure the local PostgreSQL (127.0.0.1:5432) is up for the store tests
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start) || \
	  (echo "PostgreSQL is not running on 127.0.0.1:5432: start it, or set OFP_TEST_POSTGRES_DSN"; exit 1)

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin var
