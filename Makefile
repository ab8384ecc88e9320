# siobroker: developer entry points over cmake + ctest. `make help` lists the targets.
#
#   make run                        install what is missing, build, run the broker (no Redis)
#   make test                       install what is missing, build, run every ctest
#   make test SANITIZE=address,undefined   the same in build-san/ with ASan + UBSan
#
# CI=true (or WERROR=1) turns warnings into errors (-DSIO_WERROR=ON).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# ---- knobs -----------------------------------------------------------------------------------

PREFIX     ?= /usr/local
BUILD_TYPE ?= RelWithDebInfo
SANITIZE   ?=
ARGS       ?=
LISTEN     ?= 127.0.0.1:8080
CTEST_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Debian's python3 has python3-socketio & co.; the python3 first on PATH may be a pyenv one.
PYTHON     ?= /usr/bin/python3
CLANG_FORMAT ?= $(shell command -v clang-format-14 || command -v clang-format || echo clang-format)

ifneq ($(filter true 1,$(CI)),)
WERROR ?= 1
endif
WERROR ?= 0
ifeq ($(filter 1 ON on true yes,$(WERROR)),)
SIO_WERROR := OFF
else
SIO_WERROR := ON
endif

ifneq ($(SANITIZE),)
BUILD_DIR ?= build-san
else
BUILD_DIR ?= build
endif
FUZZ_DIR ?= build-fuzz

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

CMAKE_ARGS := -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
              -DSIO_WERROR=$(SIO_WERROR) \
              -DSIO_SANITIZE=$(SANITIZE) \
              -DPython3_EXECUTABLE=$(PYTHON) \
              --no-warn-unused-cli

# Environment for ctest: Debian's python3 wins over pyenv shims (PYENV_VERSION=system makes the
# shims resolve to it too); sanitizer options only for a sanitized build (user's own appended last,
# so they override ours).
TEST_ENV := PATH="$(dir $(PYTHON)):$$PATH" PYENV_VERSION=system PYTHON=$(PYTHON)
ifneq ($(SANITIZE),)
TEST_ENV += ASAN_OPTIONS="detect_leaks=1:abort_on_error=1$${ASAN_OPTIONS:+:$$ASAN_OPTIONS}"
TEST_ENV += UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1$${UBSAN_OPTIONS:+:$$UBSAN_OPTIONS}"
endif

# ---- dependencies ----------------------------------------------------------------------------

# Debian bookworm packages. libclang-rt-14-dev holds libFuzzer (libclang_rt.fuzzer-x86_64.a) for
# clang -fsanitize=fuzzer. nodejs/npm count as present when `node`/`npm` are on PATH: the machine
# image ships NodeSource's nodejs (npm bundled), which conflicts with Debian's npm package.
APT_PACKAGES := \
	build-essential cmake pkg-config clang libclang-rt-14-dev clang-format \
	libwebsockets-dev libuv1-dev libhiredis-dev libmsgpack-dev libjansson-dev libssl-dev \
	check uthash-dev libhttp-parser-dev redis-server haproxy nodejs npm \
	python3 python3-socketio python3-engineio python3-redis python3-msgpack python3-django \
	python3-aiohttp python3-websocket python3-requests gunicorn python3-uvicorn daphne \
	valgrind chromium docker-compose curl ca-certificates unzip prometheus libcrypt-dev

.PHONY: all help deps deps-apt deps-npm configure build run test fuzz format clean distclean install

all: build

help:
	@echo 'make deps      install missing Debian packages and the npm test clients (npm ci)'
	@echo 'make build     configure + build into $(BUILD_DIR)/'
	@echo 'make run       build, then exec siobroker on $(LISTEN) serving the chat page at / ($$ARGS appended)'
	@echo 'make test      build, then ctest --output-on-failure -j2 --timeout 600'
	@echo '               SANITIZE=address,undefined -> build-san/; CTEST_ARGS="-R unit" to filter'
	@echo 'make fuzz      clang + libFuzzer targets into $(FUZZ_DIR)/'
	@echo 'make format    clang-format -i every C source and header'
	@echo 'make install   cmake --install $(BUILD_DIR) --prefix $(PREFIX)'
	@echo 'make clean     remove build dirs (distclean: node_modules too)'

deps: deps-apt deps-npm

# Checks each package; runs apt only when something is missing, so a second `make` is quick.
deps-apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	    case "$$p" in \
	    nodejs) if command -v node >/dev/null 2>&1; then continue; fi ;; \
	    npm) if command -v npm >/dev/null 2>&1; then continue; fi ;; \
	    esac; \
	    if ! dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed'; then \
	        missing="$$missing $$p"; \
	    fi; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing:$$missing"; \
	    $(SUDO) apt-get update; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# npm ci (a clean install from package-lock.json) only when node_modules is missing or stale.
ifneq ($(wildcard package-lock.json),)
deps-npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json | deps-apt
	npm ci --no-audit --no-fund
	@touch $@
else
deps-npm: | deps-apt
	@echo 'deps: no package-lock.json; running npm install to create it'
	npm install --no-audit --no-fund
endif

# ---- build -----------------------------------------------------------------------------------

# cmake is idempotent: re-running it picks up changed options (WERROR, SANITIZE) and new files.
configure: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD_DIR) -j$(JOBS)

# exec: the broker replaces the recipe's shell, so Ctrl-C and SIGTERM reach it directly.
run: build
	exec $(BUILD_DIR)/bin/siobroker --listen $(LISTEN) --static $(BUILD_DIR)/share/siobroker/www $(ARGS)

test: build
	cd $(BUILD_DIR) && $(TEST_ENV) ctest --output-on-failure -j2 --timeout 600 $(CTEST_ARGS)

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_C_COMPILER=clang -DSIO_FUZZ=ON \
	    -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DSIO_WERROR=$(SIO_WERROR) --no-warn-unused-cli
	cmake --build $(FUZZ_DIR) -j$(JOBS)

# The same file set the style.clang_format ctest checks.
format:
	CLANG_FORMAT=$(CLANG_FORMAT) bash tests/style/check-format.sh --fix

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf build build-san $(FUZZ_DIR) $(filter-out build build-san,$(BUILD_DIR))

distclean: clean
	rm -rf node_modules
