# Thin wrapper over CMake: the commands the README promises.
BUILD    ?= build
ASAN     ?= build-asan
TSAN     ?= build-tsan
FUZZDIR  ?= build-fuzz
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
VERITEE_VECTORS ?= $(abspath ../shared/vectors)
export VERITEE_VECTORS

.PHONY: all deps build check test asan tsan bench bench-pg bench-memory fuzz demo clean deb package-check container-check install

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVT_SANITIZE=ON
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

# The tests that run threads (servers, concurrent verifications, caches shared by threads, the
# store's pool) under ThreadSanitizer, with the library and the CLI they run.
TSAN_TESTS = test_audit test_collateral_manager test_collateral_pcs test_emulate_tdx test_tsm test_kbs \
  test_nvidia_emulated test_http test_snp_kds test_store test_tdx_trust test_verify test_verify_tpm \
  test_kbs_client test_http_client test_x509
tsan:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVT_TSAN=ON
	cmake --build $(TSAN) -j $(JOBS) --target veritee-cli $(TSAN_TESTS)
	cd $(TSAN) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -R "^($$(echo $(TSAN_TESTS) | tr ' ' '|'))$$"

check: deps
	$(MAKE) test
	$(MAKE) asan
	$(MAKE) tsan
	$(MAKE) fuzz FUZZ_SECONDS=5
	$(MAKE) package-check

# Debian packages (veritee, libveritee0, libveritee-dev) in $(BUILD)/deb, lintian report beside.
# (an install-deps failure about other packages does not stop it: make-deb checks its own tools)
deb:
	@scripts/install-deps --packaging || echo "make deb: install-deps failed; going on (scripts/make-deb checks its tools)"
	scripts/make-deb $(BUILD)/deb

# The .deb alone is enough: installed into a pristine Debian 12 root, verify + serve + attest there.
# (exit 77: it cannot run here, e.g. not root; it says SKIP and make goes on)
package-check: deb
	scripts/package-check $(BUILD)/deb $(BUILD)/package-check || [ $$? -eq 77 ]

# The container image (packaging/container/Containerfile) built from the .deb with buildah and
# run read-only as uid 10001 (needs buildah; uses the Debian 12 root package-check made).
container-check: package-check
	@scripts/install-deps --container || echo "make container-check: install-deps failed; going on (the script checks its tools)"
	scripts/container-check $(BUILD)/deb $(BUILD)/package-check

# cmake --install (PREFIX=/usr/local, DESTDIR honoured).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) >/dev/null
	@$(BUILD)/bench/vt-bench

# The KBS round against a local PostgreSQL, 1 node and 3 nodes (needs Debian's postgresql).
bench-pg: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) >/dev/null
	@sh bench/kbs_pg.sh $(BUILD)

# veritee serve's memory: idle, with 10,000 sessions, during and after a soak (bench/kbs_memory.sh).
bench-memory: $(BUILD)/Makefile
	@cmake --build $(BUILD) -j $(JOBS) >/dev/null
	@BUILD=$(BUILD) sh bench/kbs_memory.sh $(SOAK_SECONDS) $(SOAK_RATE)

fuzz:
	cmake -S . -B $(FUZZDIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DVT_FUZZ=ON -DVT_TESTS=OFF
	cmake --build $(FUZZDIR) -j $(JOBS)
	scripts/run-fuzz $(FUZZDIR) $(FUZZ_SECONDS)

demo: deps
	$(MAKE) build
	@scripts/demo

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZDIR)
