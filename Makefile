# cocoon — set-up is two commands: `make demo` and `make test`.
APT_PKGS := liblmdb-dev libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev pkg-config python3-numpy python3-lmdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

# Tests run on the optimised build, as the tool ships (the demo and crash tests exercise it end to end);
# -enable-testing keeps @testable imports working.
# A scratch path of their own keeps `make test` and `make demo` from rebuilding each other.
TEST_FLAGS := -c release -Xswiftc -enable-testing --scratch-path .build/testing

# The browser test drives cocoon-serve's page in Debian's headless Chromium through Selenium.
BROWSER_PKGS := chromium chromium-driver python3-selenium

# The Slurm test runs a real single-node cluster (munged, slurmctld, slurmd) of Debian's Slurm 22.05.
SLURM_PKGS := slurm-wlm munge

.PHONY: deps apt build release serve test test-browser test-slurm demo parity-full bench bench-serve fixtures clean

## deps: install the Debian packages cocoon links against, if any is missing.
deps:
	@$(MAKE) --no-print-directory apt PKGS="$(APT_PKGS)"

## apt: install the Debian packages PKGS that are missing (apt-get update first, once).
apt:
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product cocoon

## serve: the web UI / JSON API server (`cocoon-serve --store S --model M …`; pulls in FlyingFox).
serve: deps
	$(SWIFT) build -c release --product cocoon-serve

## test-browser: cocoon-serve's page in headless Chromium (search, thumbnails, upload, top-5, sortable accuracy); screenshot in serve-page.png.
test-browser: deps
	@$(MAKE) --no-print-directory apt PKGS="$(BROWSER_PKGS)"
	$(SWIFT) build $(TEST_FLAGS)
	/usr/bin/python3 Tests/browser/serve_page_test.py .build/testing/release serve-page.png

## test-slurm: a real single-node Slurm (munge, slurmctld, slurmd on localhost) runs sbatch array jobs with dependencies,
## then `cocoon reproduce --slurm --submit`, whose merged store and tables must equal a local run's.
test-slurm: deps
	@$(MAKE) --no-print-directory apt PKGS="$(SLURM_PKGS)"
	$(SWIFT) build $(TEST_FLAGS) --product cocoon
	bash Tests/slurm/smoke_test.sh
	bash Tests/slurm/reproduce_test.sh .build/testing/release/cocoon

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

## bench-serve: loopback load test of cocoon-serve (2 × (2,000 searches + 200 uploads), 16 clients): p50/p99, RSS.
bench-serve: release serve
	@d=$$(mktemp -d); port=$$(shuf -i 20000-40000 -n 1); \
	.build/release/cocoon synth --out $$d/data --image-size 32 >/dev/null && \
	.build/release/cocoon index --model demo/model --dataset split-json --root $$d/data/colored-shapes --store $$d/store --splits test >/dev/null 2>&1 && \
	{ .build/release/cocoon-serve --store $$d/store --model demo/model --root colored-shapes=$$d/data/colored-shapes --port $$port & pid=$$!; \
	  python3 tools/load_serve.py --port $$port --pid $$pid --dataset colored-shapes --image $$d/data/colored-shapes/test/00_000.png; st=$$?; \
	  kill $$pid; wait $$pid 2>/dev/null; rm -rf $$d; exit $$st; }

## fixtures: regenerate Tests/Fixtures with the PyTorch reference (needs tools/requirements.txt).
fixtures:
	python3 tools/make_fixtures.py

clean:
	rm -rf .build
