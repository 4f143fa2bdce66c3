# mk/checks.mk — the checks beyond `make test` (included by the Makefile; CI runs them all, see .ci/run):
# test-all (every Lua version), test-asan/asan, test-valgrind/valgrind, test-tsan.

# The versions `make test-all` runs, in order.
TEST_VERSIONS = 5.1 5.2 5.3 jit 5.4
# The folders whose specs drive the C core in-process (the others mostly run child processes):
# the quick subset of `make asan` and `make valgrind`.
MEMORY_SPECS = spec/unit spec/client
SAN_CFLAGS   = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# $(MAKE) by another name: a recipe line naming MAKE runs even under `make -n`; scripts/test-all need not.
SUBMAKE = $(MAKE)

# `make test` for every version in TEST_VERSIONS in turn (going on after a failure), then one
# total line "N passed, N failed" (a run that ends without its own such line counts 1 failed).
test-all:
	@MAKE="$(SUBMAKE)" scripts/test-all $(TEST_VERSIONS)

# test-asan: the whole suite (every spec `make test` runs) against a core built with
# AddressSanitizer and UndefinedBehaviorSanitizer. The stock interpreter gets gcc's runtimes
# preloaded, and every child inherits LD_PRELOAD and ASAN_OPTIONS: sandboxes, examples and other
# Lua children and the threads driver load the sanitizer build too (spec/support/sandbox.lua and
# spec/threads/threads_spec.lua give them the suite's paths), LÖVE its plain LuaJIT build under the
# preloaded runtime (fine: uninstrumented code only goes through its interceptors), luarocks' gcc
# runs under it unharmed. No spec is excluded (spec/tooling/sdk_spec.lua runs node with LD_PRELOAD removed:
# Node.js is not hy3d's code). Reports go to files in ASAN_LOGS (log_path), so a report in a
# child whose output a spec swallows still fails the target; leaks are valgrind's job
# (detect_leaks=0: the interpreter's own allocations at exit are not hy3d's).
# `make asan` is the quick subset: the in-process folders, MEMORY_SPECS (spec/unit, spec/client).
ASAN_BUILD = $(BUILD)/asan
ASAN_LOGS  = $(ASAN_BUILD)/logs
SAN_PRELOAD = $$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)
test-asan: deps-memory
	@$(MAKE) -s --no-print-directory deps-sdk
	@$(MAKE) -s --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="$(SAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" all
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all   # LÖVE loads the LuaJIT build
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@status=0; \
	HY3D_CPATH="./$(ASAN_BUILD)/?.so" $(TEST_ENV) LD_PRELOAD="$(SAN_PRELOAD)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$(CURDIR)/$(ASAN_LOGS)/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(CURDIR)/$(ASAN_LOGS)/ubsan \
	  $(LUA) $(BUSTED) -o spec/support/summary.lua $(BUSTED_ARGS) $(TEST_SPECS) || status=$$?; \
	if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
	  echo "test-asan: sanitizer reports (in $(ASAN_LOGS)):"; cat $(ASAN_LOGS)/*; \
	  echo "0 passed, 1 failed"; exit 1; \
	fi; \
	exit $$status
asan:
	@$(MAKE) --no-print-directory test-asan TEST_SPECS="$(MEMORY_SPECS)"

# test-valgrind: the whole suite with the busted process under valgrind memcheck: any invalid
# access or definite leak in the in-process core fails (children run natively; test-asan covers
# them). About 4 minutes on two cores. Tests filtered out (patterns, `|` between them): the
# sandbox's pure-Lua mesh generator building four 100000-face GLBs, for its length alone (no C is
# involved; it asserts no time, bench/assets.lua measures that); and hy3d.inspect on hostile
# model files (BAD_MODEL cases, mutated copies, binary FBX assimp cannot read), because Debian's
# assimp 5.2 leaks on its own error paths (objects its exceptions unwind past): those tests run
# under test-asan for invalid accesses, and inspect's tests on good files stay here, leak-checked.
# `make valgrind` is the quick subset (MEMORY_SPECS).
VALGRIND_FILTER_OUT = honours 100000 and never exceeds max_faces|BAD_MODEL|mutated and cut copies|binary FBX
test-valgrind: deps-memory
	@$(MAKE) -s --no-print-directory deps-sdk
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all
	@HY3D_CPATH="./$(BUILD)/?.so" $(TEST_ENV) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite $(LUA) $(BUSTED) -o spec/support/summary.lua --filter-out="$(subst |," --filter-out=",$(VALGRIND_FILTER_OUT))" \
	  $(BUSTED_ARGS) $(TEST_SPECS)
valgrind:
	@$(MAKE) --no-print-directory test-valgrind TEST_SPECS="$(MEMORY_SPECS)"

# test-tsan: the two-thread job of spec/threads/threads_spec.lua (spec/threads/threads.c, a lua_State per
# pthread) under ThreadSanitizer, against a sandbox: the core and the driver built with clang
# -fsanitize=thread (liblua5.4, libcurl, OpenSSL and lua-cjson are not instrumented, so TSan sees
# hy3d's own memory accesses plus everything that goes through its libc/pthread interceptors; each
# lua_State stays in its thread). Any report fails; suppressions live in spec/threads/tsan.supp.
# scripts/tsan runs a canary first (it proves TSan sees into the core), then the job. A few seconds in all.
TSAN_DIR     = build/tsan
TSAN_THREADS ?= 2
TSAN_CFLAGS  = -O1 -g -fsanitize=thread -fno-omit-frame-pointer
DEPS_TSAN    = $(DEPS_RUN) clang libclang-rt-dev
deps-tsan:
	@scripts/deps.sh $(DEPS_TSAN)
test-tsan: deps-tsan
	@$(MAKE) -s --no-print-directory sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=5.4 LUA=$(SANDBOX_LUA) LUA_INCDIR=$(SANDBOX_INCDIR) BUILD=$(TSAN_DIR) \
	  CC=$(FUZZ_CC) CFLAGS="$(TSAN_CFLAGS)" LDFLAGS="-fsanitize=thread" all
	@$(FUZZ_CC) -std=c99 $(TSAN_CFLAGS) -Wall -Wextra -I$(SANDBOX_INCDIR) spec/threads/threads.c -o $(TSAN_DIR)/threads \
	  -llua5.4 -lpthread
	@SANDBOX_LUA=$(SANDBOX_LUA) scripts/tsan $(TSAN_DIR) $(TSAN_THREADS)

.PHONY: test-all asan test-asan valgrind test-valgrind deps-tsan test-tsan
