# SuperBot. `make run` runs the daemon on embedded defaults; `make test` runs the tests.
SHELL       := /bin/bash
GO          ?= go
BIN         := bin
TOOLS       := .tools
PKGS        := ./...
PROTO_DIR   := proto
PROTO_FILES := $(shell find $(PROTO_DIR) -name '*.proto' | sort)
PROTOACTOR  = $(shell $(GO) list -m -f '{{.Dir}}' github.com/asynkron/protoactor-go)
GOLANGCI    := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
# grpcnotrace leaves out golang.org/x/net/trace, grpc's only user of
# html/template: text/template's MethodByName keeps every exported method of
# every type in the binary (10 MB of code, 3 MiB of RSS). A build without
# the tag works, only bigger; TestNoTemplateInTheDaemon keeps it that way.
TAGS        := grpcnotrace
LDFLAGS     := -s -w -X github.com/superbot/superbot/runtime/daemon.Version=$(VERSION) -X main.version=$(VERSION)
# -race needs cgo, so a C compiler; go turns cgo off where it finds none.
RACE        := $(shell [ "$$($(GO) env CGO_ENABLED 2>/dev/null)" = 1 ] && echo -race)
TEST_FLAGS  ?= $(RACE) -count=1 -timeout 9m
FUZZTIME    ?= 30s

.PHONY: all build run test test-race test-short lint fmt vet proto proto-check bench soak fuzz fuzz-short clean

all: build

build: ## build bin/superbotd and bin/superbot (static: no libc mapped, ~2 MB less RSS)
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/superbotd ./cmd/superbotd
	CGO_ENABLED=0 $(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN)/superbot ./cmd/superbot

run: build ## run the daemon in the foreground on embedded defaults (./config overlays them if present)
	./$(BIN)/superbotd

test: ## every test, with the race detector (fuzz seeds included; longer runs: make fuzz)
	@if [ -z "$(RACE)" ]; then \
		msg="no C compiler, so no cgo: the race detector needs it (apt-get install -y gcc)"; \
		if [ "$$CI" = true ]; then echo "CI=true: $$msg" >&2; exit 1; fi; \
		echo "$$msg; testing without -race" >&2; \
	fi
	$(GO) test $(TEST_FLAGS) $(PKGS)

test-race: test

test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

$(TOOLS)/golangci-lint:
	GOBIN=$(CURDIR)/$(TOOLS) $(GO) install $(GOLANGCI)

lint: vet $(TOOLS)/golangci-lint ## gofmt check, go vet and golangci-lint (v2)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(TOOLS)/golangci-lint run $(PKGS)

$(TOOLS)/protoc-gen-go: go.mod go.sum
	$(GO) build -o $@ google.golang.org/protobuf/cmd/protoc-gen-go

proto: $(TOOLS)/protoc-gen-go ## regenerate messages/*.pb.go from proto/
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	protoc --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go \
		-I $(PROTO_DIR) -I $(PROTOACTOR)/actor -I /usr/include \
		--go_out=. --go_opt=module=github.com/superbot/superbot \
		--go_opt=Mactor.proto=github.com/asynkron/protoactor-go/actor \
		$(patsubst $(PROTO_DIR)/%,%,$(PROTO_FILES))

proto-check: proto ## fail when the committed messages/ differ from what proto/ generates
	@git diff --exit-code -- messages/ || { echo "messages/ drifted from proto/: run 'make proto' and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard messages/); if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

bench: ## benchmarks and measuring harnesses, without -race (figures for the issues; some assert a bound, e.g. RSS)
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m $(PKGS)
	$(GO) run ./cmd/superbench
	$(GO) run ./cmd/tradebench

soak: ## long runs, the tests behind the soak build tag (the connector at 2x the weight budget for 2 minutes; 100 SIGKILLs of a trading daemon; 100 election failovers of each fault with a 2 s and a 1 s lease, as root; 1 h of trading RSS; 50 WebSocket clients; an idle 3-node cluster; the web UI overview's first render with 100 modules in Chromium)
	SUPERBOT_CONNECTOR_BUDGET=2m $(GO) test -tags soak -run TestBudgetUnderDoubleDemand -v -count=1 -timeout 30m ./actors/connector/
	SUPERBOT_CRASH_ROUNDS=$${SUPERBOT_CRASH_ROUNDS:-100} $(GO) test -tags soak -run 'TestTradingCrash$$' -v -count=1 -timeout 90m ./runtime/daemon/
	SUPERBOT_FAILOVER_TRIALS=$${SUPERBOT_FAILOVER_TRIALS:-100} $(GO) test -tags soak -run 'TestFailoverSoak$$' -v -count=1 -timeout 150m ./actors/cluster/election/
	SUPERBOT_FAILOVER_TTL=1s SUPERBOT_FAILOVER_MARGIN=300ms SUPERBOT_FAILOVER_TRIALS=$${SUPERBOT_FAILOVER_TRIALS:-100} $(GO) test -tags soak -run 'TestFailoverSoak$$' -v -count=1 -timeout 150m ./actors/cluster/election/
	$(GO) run ./cmd/tradebench -only rss -rss-for 1h
	$(GO) test -tags soak -run TestFiftyClientsKeepUp -v -count=1 -timeout 20m ./actors/webui/
	$(GO) test -tags soak -run 'TestClusterIdle$$' -v -count=1 -timeout 10m ./runtime/daemon/
	CGO_ENABLED=0 $(GO) test -tags soak -run 'TestFigureOverviewFirstRender$$' -v -count=1 -timeout 10m ./runtime/daemon/

fuzz: ## longer fuzz runs of every parser facing the outside
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$t || exit 1; \
		done; done

clean:
	rm -rf $(BIN) $(TOOLS)
