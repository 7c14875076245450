# medcl — thin wrapper over CMake. `make demo` and `make test` each install what is missing
# (scripts/install-deps.sh), configure, build and run.
BUILD ?= build
ASAN_BUILD ?= build-asan
WERROR ?= OFF
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test demo test-asan ci install clean fuzz

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DMEDCL_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: configure
	@cmake --build $(BUILD) -j$(JOBS) --target medcl_cli
	@$(BUILD)/bin/medcl demo

# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer. A test is retried once:
# LeakSanitizer's tracer can crash at exit among the OpenCL driver's threads; a real failure
# fails twice.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DMEDCL_SANITIZE=ON -DMEDCL_WERROR=$(WERROR) -DMEDCL_BUILD_PERF=OFF \
	    -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j$(JOBS) --repeat until-pass:2 $(ASAN_CTEST_ARGS)

ci:
	@$(MAKE) test WERROR=ON
	@$(MAKE) test-asan WERROR=ON
	@$(MAKE) fuzz

install: build
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD) $(ASAN_BUILD)

# libFuzzer harnesses (clang), each run for FUZZ_SECONDS on a copy of its seed corpus.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
fuzz: deps
	@command -v clang >/dev/null || { echo "fuzz: clang not installed (apt-get install clang)"; exit 1; }
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DMEDCL_FUZZ=ON -DMEDCL_BUILD_TESTS=OFF -DMEDCL_BUILD_PERF=OFF \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@set -e; for f in $(FUZZ_BUILD)/bin/fuzz_*; do \
	    name=$$(basename $$f); corpus=fuzz/corpus/$${name#fuzz_}; work=$(FUZZ_BUILD)/corpus/$${name#fuzz_}; \
	    rm -rf $$work; mkdir -p $$work; [ -d $$corpus ] && cp $$corpus/* $$work/ 2>/dev/null || true; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$work 2>$(FUZZ_BUILD)/$$name.log \
	        || { tail -40 $(FUZZ_BUILD)/$$name.log; exit 1; }; \
	    grep -E "stat::number_of_executed_units" $(FUZZ_BUILD)/$$name.log || true; \
	done
