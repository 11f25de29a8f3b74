# Thin wrapper around CMake: the two commands of the README, and a few helpers.
#   make run    install missing Debian packages, build, start torii in the foreground
#   make test   install, build (normal and ASan+UBSan), run unit and integration tests, then a
#               short fuzz pass (2 s per libFuzzer target)
#   make fuzz   build the libFuzzer targets (clang) and run each for FUZZ_SECONDS (default 60)

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST ?= /usr/bin/python3 -m pytest
# Integration tests run in parallel, one file per worker process (tests/integration/harness.py
# gives each worker its own slice of ports); PYTEST_ARGS="-q -x" runs them one by one. Two
# workers per CPU: a test mostly waits (for sockets, timers, servers it started), and on 2 CPUs
# 4 workers take the suite from 7.8 to 5.2 minutes under the sanitizers.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$((n * 2)))
PYTEST_ARGS ?= -q -x -n $(TEST_WORKERS) --dist loadfile

.PHONY: all deps build build-asan run test unit unit-asan integration integration-asan integration-postgres style clean \
	fuzz fuzz-smoke

all: build

deps:
	@sh scripts/deps.sh

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS)

build-asan:
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTR_ASAN=ON -DTR_UBSAN=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

run: deps build
	./build/torii start

style:
	@sh scripts/check-style.sh

unit: build
	@cd build && ctest --output-on-failure

unit-asan: build-asan
	@cd build-asan && ctest --output-on-failure

integration: build
	TORII_BIN=$(CURDIR)/build/torii $(PYTEST) $(PYTEST_ARGS) tests/integration

integration-asan: build-asan
	TORII_BIN=$(CURDIR)/build-asan/torii TORII_ASAN=1 $(PYTEST) $(PYTEST_ARGS) tests/integration

# The same suite with every node on a PostgreSQL of the test process's own (harness.py). In
# `make test`, without the files whose nodes only proxy (the store plays no part there and they
# are the slow ones: bodies, timeouts, TLS, drains) and those that start PostgreSQL servers of
# their own (they ran in the passes above): PG_ONLY_STORE= runs every file.
PG_ONLY_STORE ?= 1
PG_PROXY_ONLY = test_streaming test_timeouts test_tls test_drain test_http_framing \
	test_path_bypass test_proxy_headers test_realip_fields test_resource_abuse test_upgrade \
	test_upgrade_smuggling test_upstream test_dns test_supervision test_write_contention \
	test_rate_limiting_redis_replies test_database_wait test_pgserver test_postgres test_cluster
PG_IGNORE = $(if $(PG_ONLY_STORE),$(foreach f,$(PG_PROXY_ONLY),--ignore=tests/integration/$(f).py))
integration-postgres: build
	TORII_BIN=$(CURDIR)/build/torii TORII_TEST_DATABASE=postgres $(PYTEST) $(PYTEST_ARGS) \
		$(PG_IGNORE) tests/integration

test: deps
	@$(MAKE) --no-print-directory style
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory integration-asan
	@$(MAKE) --no-print-directory integration-postgres
	@$(MAKE) --no-print-directory fuzz-smoke

fuzz: deps
	@sh scripts/fuzz.sh

# Every fuzz target for a moment: catches a target that no longer builds or crashes at once.
fuzz-smoke:
	@FUZZ_SECONDS=2 sh scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz
