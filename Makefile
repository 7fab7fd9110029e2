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
	$(GO) test -count=1 -timeout 30m $(PKGS)

race: ## run every test with the race detector
	$(GO) test -count=1 -race -timeout 30m $(PKGS)

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

# make bench SCALE=1 measures the targets stated at scale: 1,000
# containers / 300 volumes / 100 tags, 5,000 containers' RSS, 60 s idle.
SCALE     ?=
BENCHOUT  ?= bin/bench.txt
ifeq ($(SCALE),1)
BENCHENV  = RDD_BENCH_SCALE=1 RDD_BENCH_CONTAINERS=1000 RDD_BENCH_VOLUMES=300 RDD_BENCH_TAGS=100 RDD_BENCH_IDLE=60s
endif
BENCHRUN  = $(BENCHENV) $(GO) test -run '^$$' -benchmem

bench: ## run the benchmarks, ending with the DESIGN section 8 table (SCALE=1: the figures at scale)
	@mkdir -p $(dir $(BENCHOUT)) && : > $(BENCHOUT)
	$(BENCHRUN) -bench 'EditToReady|BaselineNotifyValidate' -benchtime 200x ./bench | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench 'Idle' -benchtime 1x ./bench | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench 'Validate|ParseTypical|YAMLOnly' ./schema | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench 'EventLatency' -benchtime 200x ./reconciler/docker | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench 'FullSync|NoopResync|DeclaredStop|RSS|Flood' -benchtime 20x ./reconciler/docker | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench . -benchtime $(BENCHTIME) ./statusdir ./watch | tee -a $(BENCHOUT)
	@$(GO) run ./bench/report < $(BENCHOUT)

e2e: ## as root: build Lima and a VM image (cached), then boot a real VM and drive it through rdd
	eval "$$(bash e2e/setup.sh)" && bash e2e/run.sh

clean: ## remove build output
	rm -rf bin
