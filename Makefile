# patientmatch — build, run, test, bench, lint.
GO            ?= go
BIN           := bin/patientmatch
DATA          ?= ./data
# make run HTTP=127.0.0.1:8081 GRPC=127.0.0.1:9091 serves on other addresses.
HTTP          ?= 127.0.0.1:8080
GRPC          ?= 127.0.0.1:9090
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.7.0
GOBIN_DIR     := $(CURDIR)/.tools
export CGO_ENABLED ?= 0

.PHONY: build run test test-short bench lint fmt vet tools clean

build:
	$(GO) build -trimpath -buildvcs=auto -o $(BIN) ./cmd/patientmatch

# run: build, load the bundled demo patients into $(DATA), serve on localhost.
run: build
	./$(BIN) load --data $(DATA) testdata/demo/patients.ndjson
	./$(BIN) serve --data $(DATA) --http $(HTTP) --grpc $(GRPC)

# test: the whole suite with the race detector (needs cgo for -race), plus vet
# and staticcheck. This is what .ci/run calls.
test: vet lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -short -count=1 ./...

# bench: micro-benchmarks (scoring, in-process Match), then the accuracy
# table of every labelled set plus a generated 20k set, and recall@5 on
# febrl3. bench/scale.sh N and bench/accuracy.sh SIZES... give the large runs
# of bench/README.md.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./scoring/ ./matcher/ | tee bench/latest.txt
	bash bench/accuracy.sh 20000 | tee -a bench/latest.txt
	./$(BIN) bench recall --progress=false --truth ../shared/datasets/febrl3.truth.csv ../shared/datasets/febrl3.csv | tee -a bench/latest.txt

vet:
	$(GO) vet ./...

tools: $(GOBIN_DIR)/staticcheck

$(GOBIN_DIR)/staticcheck:
	GOBIN=$(GOBIN_DIR) $(GO) install $(STATICCHECK)

lint: tools
	@out=$$(gofmt -l -s $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt -s needed on:"; echo "$$out"; exit 1; fi
	$(GOBIN_DIR)/staticcheck ./...

fmt:
	gofmt -w -s $$(git ls-files '*.go')

clean:
	rm -rf bin .tools

# make proto / make proto-check: the gRPC code generation.
include proto.mk
