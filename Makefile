# cocoon — set-up is two commands: `make demo` and `make test`.
APT_PKGS := liblmdb-dev libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev pkg-config python3-numpy python3-lmdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

# Tests run on the optimised build, as the tool ships (the demo and crash tests exercise it end to end);
# -enable-testing keeps @testable imports working.
# A scratch path of their own keeps `make test` and `make demo` from rebuilding each other.
TEST_FLAGS := -c release -Xswiftc -enable-testing --scratch-path .build/testing

.PHONY: deps build release test demo parity-full bench fixtures clean

## deps: install the Debian packages cocoon links against, if any is missing.
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build --disable-swift-testing

## demo: the embedded demo end to end (synthetic data, index, zero-shot, CoOp, CoCoOp, report in demo-report/).
demo: release
	.build/release/cocoon demo --model demo/model --work demo-out --report demo-report

## parity-full: real-size random ViT-B/32, ViT-B/16, ViT-L/14, RN50, RN101 against open_clip (needs torch: pip install -r tools/requirements.txt).
parity-full: release
	python3 tools/parity_full.py --bin .build/release/cocoon --models vit-b-32,rn50,vit-b-16,rn101,vit-l-14

## bench: the release-build throughput figures (sgemm, text tower, tuner step, store, encoders).
bench: release
	.build/release/cocoon bench gemm
	.build/release/cocoon bench text
	.build/release/cocoon bench tune
	.build/release/cocoon bench store

## fixtures: regenerate Tests/Fixtures with the PyTorch reference (needs tools/requirements.txt).
fixtures:
	python3 tools/make_fixtures.py

clean:
	rm -rf .build
