# rdd: run `make help` for the targets.
GO        ?= go
PKGS      ?= ./...
FUZZTIME  ?= 20s
BENCHTIME ?= 1s
BIN       ?= bin/rdd
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help build run test race lint fuzz bench e2e clean

help: ## show this help
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/rdd
	$(GO) build -ldflags "-X github.com/rddproject/rdd/cli.Version=$(VERSION)" -o $(BIN) ./cmd/rdd

run: build ## run the daemon in the foreground with the default home (~/.rd), writing a default desired.yaml first if there is none
	@./$(BIN) init 2>/dev/null || true
	./$(BIN) daemon

test: ## run every test (unit, examples, testscripts; engine tests need a dockerd)
	$(GO) test -count=1 $(PKGS)

race: ## run every test with the race detector
	$(GO) test -count=1 -race $(PKGS)

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

bench: ## run the benchmarks (figures are ratios against baselines run alongside)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

e2e: ## as root: build Lima and a VM image (cached), then boot a real VM and drive it through rdd
	eval "$$(bash e2e/setup.sh)" && bash e2e/run.sh

clean: ## remove build output
	rm -rf bin
