# proto.mk — generate the gRPC API code from api/patientmatch/v1/*.proto.
# Included from the Makefile; also usable alone: make -f proto.mk proto
#
#   make proto        regenerate the committed *.pb.go files
#   make proto-check  regenerate into a temp dir and fail if the committed
#                     files differ (stale generated code); CI calls this
#
# protoc is Debian's protobuf-compiler (installed on demand); the Go plugins
# are pinned and installed into $(GOBIN_DIR), so every machine generates the
# same bytes.

GO                         ?= go
GOBIN_DIR                  ?= $(CURDIR)/.tools
PROTOC                     ?= protoc
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_ROOT                 := api
PROTO_FILES                := patientmatch/v1/patientmatch.proto patientmatch/v1/identities.proto
PROTO_GENERATED            := $(foreach f,$(PROTO_FILES),$(f:.proto=.pb.go) $(f:.proto=_grpc.pb.go))

# Stamp files carry the pinned versions: bumping a version reinstalls.
PROTOC_GEN_GO_STAMP        := $(GOBIN_DIR)/.protoc-gen-go-$(PROTOC_GEN_GO_VERSION)
PROTOC_GEN_GO_GRPC_STAMP   := $(GOBIN_DIR)/.protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)

.PHONY: proto proto-check proto-tools protoc-installed

proto-tools: protoc-installed $(PROTOC_GEN_GO_STAMP) $(PROTOC_GEN_GO_GRPC_STAMP)

protoc-installed:
	@command -v $(PROTOC) >/dev/null 2>&1 || { \
	  echo "protoc not found: installing Debian's protobuf-compiler"; \
	  apt-get update && apt-get install -y protobuf-compiler; }

$(PROTOC_GEN_GO_STAMP):
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@rm -f $(GOBIN_DIR)/.protoc-gen-go-v* && touch $@

$(PROTOC_GEN_GO_GRPC_STAMP):
	GOBIN=$(GOBIN_DIR) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	@rm -f $(GOBIN_DIR)/.protoc-gen-go-grpc-v* && touch $@

# protoc-gen runs protoc over PROTO_FILES, writing next to the sources
# (paths=source_relative) under the directory $(1).
define protoc-gen
	(cd $(PROTO_ROOT) && $(PROTOC) -I . \
	  --plugin=protoc-gen-go=$(GOBIN_DIR)/protoc-gen-go \
	  --plugin=protoc-gen-go-grpc=$(GOBIN_DIR)/protoc-gen-go-grpc \
	  --go_out=$(1) --go_opt=paths=source_relative \
	  --go-grpc_out=$(1) --go-grpc_opt=paths=source_relative \
	  $(PROTO_FILES))
endef

proto: proto-tools
	$(call protoc-gen,.)

# proto-check ignores only the header line naming protoc's own version, so a
# different protoc build does not fail CI while any change in the generated
# code does.
proto-check: proto-tools
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  for f in $(PROTO_FILES); do mkdir -p "$$tmp/$$(dirname $$f)"; done && \
	  $(call protoc-gen,$$tmp) && \
	  status=0 && \
	  for f in $(PROTO_GENERATED); do \
	    diff -u -I '^//[[:space:]]*protoc[[:space:]]' "$(PROTO_ROOT)/$$f" "$$tmp/$$f" || status=1; \
	  done && \
	  if [ $$status -ne 0 ]; then echo "proto-check: generated code is stale; run 'make proto' and commit"; exit 1; fi && \
	  echo "proto-check: generated code is up to date"
