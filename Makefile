# Frontdesk developer commands. `make test` is what CI runs.
GO ?= go

.PHONY: test vet build run fuzz bench bench-go

## test: vet and run every test with the race detector
test: vet
	$(GO) test -race -count=1 ./...

vet:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

## build: the frontdesk binary in ./frontdesk
build:
	CGO_ENABLED=0 $(GO) build -o frontdesk ./cmd/frontdesk

## run: the server on embedded defaults
run:
	$(GO) run ./cmd/frontdesk serve

## fuzz: each fuzz target for a short while (seed corpora run in every `make test`)
fuzz:
	$(GO) test -run XXX -fuzz FuzzDecodeClientFrame -fuzztime 30s ./api/realtime/

## bench: load scenarios against a real server and micro-benchmarks; writes docs/benchmarks.md (~5 minutes)
bench:
	GO=$(GO) scripts/bench.sh

## bench-go: every Go micro-benchmark
bench-go:
	$(GO) test -run XXX -bench . -benchmem ./...
