# cocoon — set-up is two commands: `make demo` and `make test`.
APT_PKGS := liblmdb-dev libopenblas-dev libjpeg-dev libpng-dev zlib1g-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: deps build release test parity-full fixtures clean

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
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## fixtures: regenerate Tests/Fixtures with the PyTorch reference (needs tools/requirements.txt).
fixtures:
	python3 tools/make_fixtures.py

clean:
	rm -rf .build
