# hy3d — Lua client for Tencent Hunyuan 3D.  `make` builds, `make test` tests, `make demo` demos.
# Variables follow LuaRocks' names so a packager can override them.

# LUA_VERSION picks the interpreter: 5.1, 5.2, 5.3, 5.4 (default) or jit (LuaJIT 2.1, module ABI 5.1).
# Each version builds in its own directory: build (5.4), build/lua5.1, build/lua5.2, build/lua5.3,
# build/luajit.
LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),jit)
LUA         ?= luajit
LUA_INCDIR  ?= /usr/include/luajit-2.1
LUA_ABI     = 5.1
LUA_PKGS    = luajit libluajit-5.1-dev
LUA_NAME    = LuaJIT 2.1
VERSION_BUILD = build/luajit
else
LUA         ?= lua$(LUA_VERSION)
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
LUA_ABI     = $(LUA_VERSION)
LUA_PKGS    = lua$(LUA_VERSION) $(if $(filter 5.1,$(LUA_VERSION)),liblua5.1-0-dev,liblua$(LUA_VERSION)-dev)
LUA_NAME    = Lua $(LUA_VERSION)
VERSION_BUILD = $(if $(filter 5.4,$(LUA_VERSION)),build,build/lua$(LUA_VERSION))
endif
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUADIR      ?= $(PREFIX)/share/lua/$(LUA_ABI)
BINDIR      ?= $(PREFIX)/bin
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS   ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CRYPTO_CFLAGS ?= $(shell pkg-config --cflags libcrypto 2>/dev/null)
CRYPTO_LIBS ?= $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
ZIP_CFLAGS  ?= $(shell pkg-config --cflags libzip 2>/dev/null)
ZIP_LIBS    ?= $(shell pkg-config --libs libzip 2>/dev/null || echo -lzip)
CFLAGS      ?= -O2 -g
WARNINGS    = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
              -Wmissing-prototypes -Wno-unused-parameter
# macOS: LIBFLAG = -bundle -undefined dynamic_lookup
LIBFLAG     ?= -shared
BUILD       ?= $(VERSION_BUILD)
# hy3d-sandbox needs Lua 5.3+ and always runs under SANDBOX_LUA with a 5.4 build of the core in
# SANDBOX_BUILD (the one bin/hy3d-sandbox finds in a checkout), whatever LUA_VERSION the suite uses.
SANDBOX_LUA ?= lua5.4
SANDBOX_INCDIR ?= /usr/include/lua5.4
SANDBOX_BUILD = build
# Where `make install` with another LUA_VERSION puts the 5.4 core and modules hy3d-sandbox runs on.
SANDBOX_LIBDIR ?= $(PREFIX)/lib/lua/5.4
SANDBOX_LUADIR ?= $(PREFIX)/share/lua/5.4
BUSTED      ?= /usr/bin/busted
PROMPT      ?= a small wooden chair

# Debian packages each target needs (installed by scripts/deps.sh when missing).
DEPS_BUILD  = gcc make pkg-config $(LUA_PKGS) libcurl4-openssl-dev libssl-dev libzip-dev lua-cjson
DEPS_RUN    = $(DEPS_BUILD) $(filter-out $(LUA_PKGS),lua5.4 liblua5.4-dev) lua-socket lua-zlib lua-luaossl
DEPS_TEST   = $(DEPS_RUN) lua-busted lua-check luarocks unzip pngcheck bsdutils lua-cqueues lua-luv lua-copas love \
              luajit libluajit-5.1-dev lua5.1 liblua5.1-0-dev nodejs npm
DEPS_MEMORY = $(DEPS_TEST) valgrind

# The specs that test the sandbox's internals in-process: Lua 5.3+ like the sandbox itself, so
# 5.1, 5.2 and LuaJIT run every other spec (TEST_SPECS); 5.3 and 5.4 run the whole suite.
SANDBOX_SPECS = spec/sandbox_spec.lua spec/sandbox_actions_spec.lua spec/sandbox_faults_spec.lua \
                spec/sandbox_tc3_spec.lua spec/assets_spec.lua spec/image_spec.lua
ifneq ($(filter 5.1 5.2 jit,$(LUA_VERSION)),)
TEST_SPECS = $(filter-out $(SANDBOX_SPECS),$(sort $(wildcard spec/*_spec.lua)))
endif
# The interpreters of the suite's children, and the core its sandboxes load: on 5.4 the suite's
# own (so under `make asan` they load the sanitizer build too), else the 5.4 one in SANDBOX_BUILD.
# HY3D_CPATH (read by .busted) says where the suite itself finds hy3d.core.
TEST_ENV = HY3D_SANDBOX_LUA=$(SANDBOX_LUA) HY3D_TEST_LUA=$(LUA) \
           $(if $(filter 5.4,$(LUA_VERSION)),,HY3D_SANDBOX_CPATH="./$(SANDBOX_BUILD)/?.so")
# The versions `make test-all` runs, in order.
TEST_VERSIONS = 5.1 5.2 5.3 jit 5.4

# The specs that drive the C core in-process (the others mostly run child processes).
MEMORY_SPECS = spec/core_spec.lua spec/sign_spec.lua spec/api3_spec.lua spec/scheduler_spec.lua spec/client_spec.lua spec/download_spec.lua spec/error_spec.lua spec/wait_spec.lua \
               spec/files_spec.lua spec/image_input_spec.lua spec/generate_spec.lua
SAN_CFLAGS   = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

SRCS = src/hy3d_core.c src/hy3d_engine.c src/hy3d_request.c src/hy3d_download.c src/hy3d_result.c \
       src/hy3d_handle.c src/hy3d_sign.c src/hy3d_json.c src/hy3d_files.c src/hy3d_image.c src/hy3d_util.c \
       src/hy3d_buf.c
HDRS = src/hy3d.h src/hy3d_compat.h src/hy3d_buf.h
OBJS = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
CORE = $(BUILD)/hy3d/core.so

all: $(CORE)

# The 5.4 core hy3d-sandbox loads (the same as `all` when LUA_VERSION is 5.4).
sandbox-core:
	@$(MAKE) -s --no-print-directory LUA_VERSION=5.4 LUA=$(SANDBOX_LUA) LUA_INCDIR=$(SANDBOX_INCDIR) \
	  BUILD=$(SANDBOX_BUILD) all

$(CORE): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(OBJS) $(CURL_LIBS) $(CRYPTO_LIBS) $(ZIP_LIBS)

# Without the Lua headers, one line naming the package instead of the compiler's "lua.h: No such file".
$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@test -f $(LUA_INCDIR)/lua.h || { echo "make: $(LUA_INCDIR)/lua.h not found: the headers of $(LUA_NAME) are not" \
	  "installed (Debian/Ubuntu: sudo apt-get install $(lastword $(LUA_PKGS))), or set LUA_INCDIR to their directory" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(CC) -std=c99 $(CFLAGS) $(WARNINGS) -fPIC -fvisibility=hidden -I$(LUA_INCDIR) -Isrc $(CURL_CFLAGS) $(CRYPTO_CFLAGS) $(ZIP_CFLAGS) -c -o $@ $<

deps-build:
	@scripts/deps.sh $(DEPS_BUILD)
deps-run:
	@scripts/deps.sh $(DEPS_RUN)
deps-test:
	@scripts/deps.sh $(DEPS_TEST)
deps-memory:
	@scripts/deps.sh $(DEPS_MEMORY)

# Tencent's official Node.js SDK, pinned in spec/sdk/package-lock.json, for the interop spec
# (spec/sdk_spec.lua, part of every suite run: it fails when Node.js or the SDK is missing). npm
# comes with DEPS_TEST (nodejs npm); without npm or the npm registry, this target fails.
SDK_DIR = build/sdk
deps-sdk: $(SDK_DIR)/node_modules/.package-lock.json
$(SDK_DIR)/node_modules/.package-lock.json: spec/sdk/package.json spec/sdk/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "deps-sdk: npm not found (make deps-test installs nodejs and npm)" >&2; exit 1; }
	@mkdir -p $(SDK_DIR) && cp spec/sdk/package.json spec/sdk/package-lock.json $(SDK_DIR)/
	@cd $(SDK_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null || { \
	  echo "deps-sdk: npm ci failed in $(SDK_DIR) (it needs the npm registry once; see the output above)" >&2; exit 1; }

lint: deps-test
	luacheck -q .

# Lint, then the busted suite under $(LUA) (real HTTP against hy3d-sandbox on 127.0.0.1): every
# spec on 5.3/5.4, TEST_SPECS on 5.1/5.2/LuaJIT. The last line is "N passed, N failed".
test: deps-test
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all   # the LÖVE example (spec/love_spec.lua) runs LuaJIT
	@$(MAKE) -s --no-print-directory deps-sdk || { echo "deps-sdk failed"; echo "0 passed, 1 failed"; exit 1; }
	@luacheck -q . || { echo "luacheck failed"; echo "0 passed, 1 failed"; exit 1; }
	@HY3D_CPATH="./$(BUILD)/?.so" $(TEST_ENV) $(LUA) $(BUSTED) -o spec/support/summary.lua $(BUSTED_ARGS) $(TEST_SPECS)

# `make test` for every version in TEST_VERSIONS in turn (going on after a failure), then one
# total line "N passed, N failed" (a run that ends without its own such line counts 1 failed).
test-all:
	@passed=0; failed=0; log=$$(mktemp); start=$$(date +%s); \
	for v in $(TEST_VERSIONS); do \
	  t0=$$(date +%s); \
	  echo "== make test LUA_VERSION=$$v"; \
	  $(MAKE) --no-print-directory test LUA_VERSION=$$v 2>&1 | tee $$log; \
	  last=$$(grep -E '^[0-9]+ passed, [0-9]+ failed$$' $$log | tail -n 1); \
	  if [ -n "$$last" ]; then \
	    set -- $$last; passed=$$((passed + $$1)); failed=$$((failed + $$3)); \
	  else last="no summary line"; failed=$$((failed + 1)); fi; \
	  echo "== LUA_VERSION=$$v: $$last ($$(( $$(date +%s) - t0 )) s)"; \
	done; \
	rm -f $$log; \
	echo "== test-all: $$(( $$(date +%s) - start )) s"; \
	echo "$$passed passed, $$failed failed"; \
	[ "$$failed" -eq 0 ]

# ===== Sanitizers, valgrind, fuzzing and ThreadSanitizer (CI runs them all; see .ci/run) =====

# test-asan: the whole suite (every spec `make test` runs) against a core built with
# AddressSanitizer and UndefinedBehaviorSanitizer. The stock interpreter gets gcc's runtimes
# preloaded, and every child inherits LD_PRELOAD and ASAN_OPTIONS: sandboxes, examples and other
# Lua children and the threads driver load the sanitizer build too (spec/support/sandbox.lua and
# spec/threads_spec.lua give them the suite's paths), LÖVE its plain LuaJIT build under the
# preloaded runtime (fine: uninstrumented code only goes through its interceptors), luarocks' gcc
# runs under it unharmed. No spec is excluded (spec/sdk_spec.lua runs node with LD_PRELOAD removed:
# Node.js is not hy3d's code). Reports go to files in ASAN_LOGS (log_path), so a report in a
# child whose output a spec swallows still fails the target; leaks are valgrind's job
# (detect_leaks=0: the interpreter's own allocations at exit are not hy3d's).
# `make asan` is the quick subset: the in-process MEMORY_SPECS only.
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
# them). About 4 minutes on two cores. One test is filtered out for its length alone: the
# sandbox's pure-Lua mesh generator building four 100000-face GLBs (no C is involved; it asserts
# no time, bench/assets.lua measures that). `make valgrind` is the quick subset (MEMORY_SPECS).
VALGRIND_FILTER_OUT = honours 100000 and never exceeds max_faces
test-valgrind: deps-memory
	@$(MAKE) -s --no-print-directory deps-sdk
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all
	@HY3D_CPATH="./$(BUILD)/?.so" $(TEST_ENV) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite $(LUA) $(BUSTED) -o spec/support/summary.lua --filter-out="$(VALGRIND_FILTER_OUT)" \
	  $(BUSTED_ARGS) $(TEST_SPECS)
valgrind:
	@$(MAKE) --no-print-directory test-valgrind TEST_SPECS="$(MEMORY_SPECS)"

# fuzz: two libFuzzer targets (fuzz/response.c: response bytes → req:result()'s classification;
# fuzz/request.c: Lua value trees → encode, tc3_sign, base64, core.new, engine:request),
# built with clang against the whole core (-fsanitize=fuzzer,address,undefined) and Lua 5.4, each
# run for FUZZ_SECONDS (CI: 60; a real session: make fuzz FUZZ_SECONDS=3600). The seeds in
# fuzz/corpus/<target> are read, what the fuzzer finds goes to build/fuzz/corpus/<target>; a crash
# (build/fuzz/<target>-crash-*) fails the target. Replay one: build/fuzz/response FILE.
# clang's libFuzzer runtime is libclang-rt-dev's (libclang-rt-14-dev on Debian 12).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     = build/fuzz
FUZZ_TARGETS = response request
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=c99 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(WARNINGS) -I/usr/include/lua5.4 -Isrc \
               $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_LIBS    = -llua5.4 $(CURL_LIBS) $(CRYPTO_LIBS) $(ZIP_LIBS) -lm
FUZZ_OBJS    = $(SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
MULTIARCH   := $(shell $(CC) -print-multiarch 2>/dev/null)
# Where the harnesses' Lua finds lua-cjson's cjson.so (hy3d.core requires it).
FUZZ_CJSON_CPATH ?= /usr/lib/$(MULTIARCH)/lua/5.4/?.so;/usr/local/lib/lua/5.4/?.so;/usr/lib/lua/5.4/?.so
# The Lua heap stays flat (HY3D_FUZZ_STATS=N prints it every N inputs); peak RSS creeps up with
# ASan's allocator caches (about 1.1 GB after 15 min of request), hence the smaller quarantine.
FUZZ_OPTIONS ?= -timeout=30 -rss_limit_mb=4096 -print_final_stats=1
DEPS_FUZZ    = $(DEPS_BUILD) lua5.4 liblua5.4-dev clang libclang-rt-dev

$(FUZZ_DIR)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_DIR)/response: fuzz/response.c fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DHY3D_FUZZ_CJSON_CPATH='"$(FUZZ_CJSON_CPATH)"' -fsanitize=fuzzer -o $@ fuzz/response.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)
$(FUZZ_DIR)/request: fuzz/request.c fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DHY3D_FUZZ_CJSON_CPATH='"$(FUZZ_CJSON_CPATH)"' -fsanitize=fuzzer -o $@ fuzz/request.c \
	  $(FUZZ_OBJS) $(FUZZ_LIBS)
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
# Rewrites the committed seed corpora from a live sandbox's answers (fuzz/seeds.lua).
fuzz-seeds: deps-run
	@$(MAKE) -s --no-print-directory sandbox-core
	@SANDBOX_LUA=$(SANDBOX_LUA) SANDBOX_ARGS="--wait-time 0.1 --run-time 0.1 --rate-limit 0 --seed 1" scripts/with-sandbox \
	  env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(SANDBOX_BUILD)/?.so;;" $(SANDBOX_LUA) fuzz/seeds.lua
deps-fuzz:
	@scripts/deps.sh $(DEPS_FUZZ)
fuzz: deps-fuzz
	@$(MAKE) -s --no-print-directory fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	  echo "== fuzz $$t: $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=64 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) $(FUZZ_OPTIONS) -dict=fuzz/$$t.dict \
	    -artifact_prefix=$(FUZZ_DIR)/$$t- $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t 2>$(FUZZ_DIR)/$$t.log; \
	  rc=$$?; grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' $(FUZZ_DIR)/$$t.log; \
	  if [ $$rc -ne 0 ]; then tail -n 80 $(FUZZ_DIR)/$$t.log; echo "fuzz $$t: FAILED (exit $$rc; log $(FUZZ_DIR)/$$t.log)"; exit 1; fi; \
	  echo "fuzz $$t: ok ($$(ls $(FUZZ_DIR)/corpus/$$t | wc -l) inputs in build/fuzz/corpus/$$t)"; \
	done

# test-tsan: the two-thread job of spec/threads_spec.lua (spec/support/threads.c, a lua_State per
# pthread) under ThreadSanitizer, against a sandbox: the core and the driver built with clang
# -fsanitize=thread (liblua5.4, libcurl, OpenSSL and lua-cjson are not instrumented, so TSan sees
# hy3d's own memory accesses plus everything that goes through its libc/pthread interceptors; each
# lua_State stays in its thread). Any report fails; suppressions live in spec/support/tsan.supp.
# First a canary proves TSan sees into the core: with HY3D_THREADS_NO_PRELOAD the threads break
# the README's rule (load hy3d.core in one thread first) and TSan must report the race on
# luaopen_hy3d_core's one-time initialisation. A few seconds in all.
TSAN_DIR     = build/tsan
TSAN_THREADS ?= 2
TSAN_CFLAGS  = -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_RUN     = SANDBOX_LUA=$(SANDBOX_LUA) SANDBOX_ARGS="--wait-time 0.3 --run-time 0.5 --rate-limit 0" \
               scripts/with-sandbox env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 \
               HY3D_LUA_PATH="$(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua" HY3D_CPATH="$(CURDIR)/$(TSAN_DIR)/?.so"
DEPS_TSAN    = $(DEPS_RUN) clang libclang-rt-dev
deps-tsan:
	@scripts/deps.sh $(DEPS_TSAN)
test-tsan: deps-tsan
	@$(MAKE) -s --no-print-directory sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=5.4 LUA=$(SANDBOX_LUA) LUA_INCDIR=$(SANDBOX_INCDIR) BUILD=$(TSAN_DIR) \
	  CC=$(FUZZ_CC) CFLAGS="$(TSAN_CFLAGS)" LDFLAGS="-fsanitize=thread" all
	@$(FUZZ_CC) -std=c99 $(TSAN_CFLAGS) -Wall -Wextra -I$(SANDBOX_INCDIR) spec/support/threads.c -o $(TSAN_DIR)/threads \
	  -llua5.4 -lpthread
	@out=$$(mktemp -d); log=$$out/canary.log; \
	$(TSAN_RUN) HY3D_THREADS_NO_PRELOAD=1 TSAN_OPTIONS="exitcode=66" HY3D_OUT=$$out $(TSAN_DIR)/threads 2 >$$log 2>&1; \
	rc=$$?; \
	if [ $$rc -eq 66 ] && grep -q "data race.* in luaopen_hy3d_core" $$log; then \
	  echo "test-tsan: canary ok (the known init race is reported when the load-first rule is broken)"; \
	else cat $$log; echo "test-tsan: FAILED: the canary got no report in luaopen_hy3d_core (exit $$rc): TSan is blind to the core"; \
	  rm -rf $$out; exit 1; fi; \
	$(TSAN_RUN) TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$(CURDIR)/spec/support/tsan.supp" \
	  HY3D_OUT=$$out $(TSAN_DIR)/threads $(TSAN_THREADS); \
	rc=$$?; rm -rf $$out; \
	if [ $$rc -eq 0 ]; then echo "test-tsan: ok, no ThreadSanitizer report ($(TSAN_THREADS) threads)"; \
	else echo "test-tsan: FAILED (exit $$rc; 66 means ThreadSanitizer reported)"; exit 1; fi

# Starts the sandbox, generates a model from PROMPT with the hy3d command (GLB, and the OBJ zip
# unpacked) into out/, stops the sandbox. With HY3D_API_KEY set and no HY3D_BASE_URL it talks to
# the real service instead.
demo: deps-run
	@$(MAKE) -s --no-print-directory all sandbox-core
	@mkdir -p out
	@if [ -n "$${HY3D_API_KEY:-}" ] && [ -z "$${HY3D_BASE_URL:-}" ]; then \
	  echo "demo: HY3D_API_KEY is set and HY3D_BASE_URL is not: using the real service"; \
	  LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(BUILD)/?.so;;" \
	    $(LUA) bin/hy3d generate "$(PROMPT)" --dir out --format glb,obj --extract --text; \
	else \
	  SANDBOX_LUA=$(SANDBOX_LUA) scripts/with-sandbox \
	    env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(BUILD)/?.so;;" HY3D_JOBS_FILE=out/jobs.jsonl \
	    $(LUA) bin/hy3d generate "$(PROMPT)" --dir out --format glb,obj --extract --interval 1 --text; \
	fi

# Runs the sandbox in the foreground (Ctrl-C stops it).
sandbox: deps-run
	@$(MAKE) -s --no-print-directory sandbox-core
	$(SANDBOX_LUA) bin/hy3d-sandbox $(SANDBOX_ARGS)

# hy3d runs on LUA_VERSION's Lua; hy3d-sandbox always on Lua 5.4 (SANDBOX_LUA), so with another
# LUA_VERSION the 5.4 core and the modules go to SANDBOX_LIBDIR and SANDBOX_LUADIR too (it finds
# them from BINDIR/..), or, without Lua 5.4 and its headers, the sandbox is left out with a note.
install: all
	install -d $(DESTDIR)$(LIBDIR)/hy3d $(DESTDIR)$(LUADIR)/hy3d/sandbox $(DESTDIR)$(BINDIR)
	install -m 755 $(CORE) $(DESTDIR)$(LIBDIR)/hy3d/core.so
	install -m 644 lua/hy3d/*.lua $(DESTDIR)$(LUADIR)/hy3d/
	install -m 644 lua/hy3d/sandbox/*.lua $(DESTDIR)$(LUADIR)/hy3d/sandbox/
	sed '1s|.*|#!/usr/bin/env $(notdir $(LUA))|' bin/hy3d > $(DESTDIR)$(BINDIR)/hy3d
	chmod 755 $(DESTDIR)$(BINDIR)/hy3d
ifeq ($(LUA_VERSION),5.4)
	install -m 755 bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox
else
	@if [ -f $(SANDBOX_INCDIR)/lua.h ] && command -v $(SANDBOX_LUA) >/dev/null 2>&1; then \
	  $(MAKE) -s --no-print-directory sandbox-core && \
	  install -d $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d $(DESTDIR)$(SANDBOX_LUADIR)/hy3d/sandbox && \
	  install -m 755 $(SANDBOX_BUILD)/hy3d/core.so $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d/core.so && \
	  install -m 644 lua/hy3d/*.lua $(DESTDIR)$(SANDBOX_LUADIR)/hy3d/ && \
	  install -m 644 lua/hy3d/sandbox/*.lua $(DESTDIR)$(SANDBOX_LUADIR)/hy3d/sandbox/ && \
	  install -m 755 bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox; \
	else \
	  echo "install: hy3d-sandbox left out: it runs on Lua 5.4 ($(SANDBOX_LUA) and $(SANDBOX_INCDIR)/lua.h;" \
	    "Debian/Ubuntu: sudo apt-get install lua5.4 liblua5.4-dev), then make install again"; \
	fi
endif

# The builds, and what `luarocks make` leaves in a checkout (objects beside the sources, ./hy3d/core.so).
# Never out/: `make demo` and users put their models there.
clean:
	rm -rf $(BUILD) hy3d/core.so src/*.o
	@rmdir hy3d 2>/dev/null || true

.PHONY: all sandbox-core deps-build deps-run deps-test deps-memory deps-sdk deps-fuzz deps-tsan lint test test-all \
        asan test-asan valgrind test-valgrind fuzz fuzz-build fuzz-seeds test-tsan demo sandbox install clean

# make bench, make bench-quick: the per-request overhead benchmarks, see bench/bench.mk
include bench/bench.mk

# mutate: the project's own mutation testing (no tool for it is packaged for Lua or this
# C). mutate/run.lua copies the tracked tree to build/mutate/tree, builds the 5.4 core there once,
# runs each mutant's specs unmutated (failing, or matching no test: BROKEN-BASELINE), then applies
# each mutant of mutate/mutants.lua (one small bug in one C or Lua file), rebuilds when it is C, runs
# its few specs with busted under a time limit and restores the file. It prints the score, killed /
# (mutants - equivalent - stale - broken baseline), and the survivors, and writes MUTATION.md (a
# subset: build/mutate/MUTATION.md). About 17 minutes on two cores: CI does not run it. It fails
# below MUTATE_MIN percent, with a STALE mutant (its text is no longer in its file: fix the entry)
# or with a BROKEN-BASELINE one.
# MUTANTS=id1,id2 runs a subset; MUTATE_DRY=1 only checks for stale entries; MUTATE_BASELINE=1 stops
# after the unmutated runs; MUTATE_MERGE=1 with MUTANTS reruns those (a fixed stale entry, a new
# mutant) and merges them into the last full run's results (mutate/results.lua, committed), rewriting
# MUTATION.md for the whole list: a mutant changed since that run and not rerun fails the target
# (MUTATE_MERGE=1 alone only rewrites MUTATION.md, e.g. after editing the notes).
MUTANTS        ?=
MUTATE_MIN     ?= 90
MUTATE_TIMEOUT ?= 300
mutate: deps-test
	@MUTANTS="$(MUTANTS)" MUTATE_MIN="$(MUTATE_MIN)" MUTATE_TIMEOUT="$(MUTATE_TIMEOUT)" MUTATE_DRY="$(MUTATE_DRY)" \
	  MUTATE_BASELINE="$(MUTATE_BASELINE)" MUTATE_MERGE="$(MUTATE_MERGE)" \
	  LUA=$(SANDBOX_LUA) BUSTED=$(BUSTED) SANDBOX_LUA=$(SANDBOX_LUA) $(SANDBOX_LUA) mutate/run.lua

.PHONY: mutate
