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
VERSION_BUILD = build/luajit
else
LUA         ?= lua$(LUA_VERSION)
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
LUA_ABI     = $(LUA_VERSION)
LUA_PKGS    = lua$(LUA_VERSION) $(if $(filter 5.1,$(LUA_VERSION)),liblua5.1-0-dev,liblua$(LUA_VERSION)-dev)
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
BUSTED      ?= /usr/bin/busted
PROMPT      ?= a small wooden chair

# Debian packages each target needs (installed by scripts/deps.sh when missing).
DEPS_BUILD  = gcc make pkg-config $(LUA_PKGS) libcurl4-openssl-dev libssl-dev lua-cjson
DEPS_RUN    = $(DEPS_BUILD) $(filter-out $(LUA_PKGS),lua5.4 liblua5.4-dev) lua-socket lua-zlib
DEPS_TEST   = $(DEPS_RUN) lua-busted lua-check luarocks unzip pngcheck lua-cqueues lua-luv lua-copas love \
              luajit libluajit-5.1-dev
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
MEMORY_SPECS = spec/core_spec.lua spec/sign_spec.lua spec/api3_spec.lua spec/scheduler_spec.lua spec/client_spec.lua spec/download_spec.lua spec/error_spec.lua spec/wait_spec.lua
SAN_CFLAGS   = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

SRCS = src/hy3d_core.c src/hy3d_engine.c src/hy3d_request.c src/hy3d_json.c src/hy3d_sign.c src/hy3d_buf.c
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
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(OBJS) $(CURL_LIBS) $(CRYPTO_LIBS)

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 $(CFLAGS) $(WARNINGS) -fPIC -fvisibility=hidden -I$(LUA_INCDIR) -Isrc $(CURL_CFLAGS) $(CRYPTO_CFLAGS) -c -o $@ $<

deps-build:
	@scripts/deps.sh $(DEPS_BUILD)
deps-run:
	@scripts/deps.sh $(DEPS_RUN)
deps-test:
	@scripts/deps.sh $(DEPS_TEST)
deps-memory:
	@scripts/deps.sh $(DEPS_MEMORY)

# Tencent's official Node.js SDK, pinned in spec/sdk/package-lock.json, for the interop spec
# (spec/sdk_spec.lua reports itself pending when Node.js or the npm registry is missing).
SDK_DIR = build/sdk
deps-sdk: $(SDK_DIR)/node_modules/.package-lock.json
$(SDK_DIR)/node_modules/.package-lock.json: spec/sdk/package.json spec/sdk/package-lock.json
	@mkdir -p $(SDK_DIR) && cp spec/sdk/package.json spec/sdk/package-lock.json $(SDK_DIR)/
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(SDK_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null || echo "deps-sdk: npm ci failed"; \
	else echo "deps-sdk: npm not found; the SDK interop spec will be pending"; fi

lint: deps-test
	luacheck -q .

# Lint, then the busted suite under $(LUA) (real HTTP against hy3d-sandbox on 127.0.0.1): every
# spec on 5.3/5.4, TEST_SPECS on 5.1/5.2/LuaJIT. The last line is "N passed, N failed".
test: deps-test
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all   # the LÖVE example (spec/love_spec.lua) runs LuaJIT
	@-$(MAKE) -s --no-print-directory deps-sdk
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

# The in-process specs against a core built with AddressSanitizer and UndefinedBehaviorSanitizer
# (the stock interpreter gets the runtimes preloaded; leaks are valgrind's job).
asan: deps-memory
	@$(MAKE) -s --no-print-directory BUILD=$(BUILD)/asan CFLAGS="$(SAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" all
	@$(MAKE) -s --no-print-directory sandbox-core
	@HY3D_CPATH="./$(BUILD)/asan/?.so" $(TEST_ENV) \
	  LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(LUA) $(BUSTED) -o spec/support/summary.lua $(MEMORY_SPECS)

# The same specs under valgrind memcheck: any invalid access or definite leak fails.
valgrind: deps-memory
	@$(MAKE) -s --no-print-directory all sandbox-core
	@HY3D_CPATH="./$(BUILD)/?.so" $(TEST_ENV) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite $(LUA) $(BUSTED) -o spec/support/summary.lua $(MEMORY_SPECS)

# Starts the sandbox, generates a model from PROMPT with examples/text_to_3d.lua into out/, stops
# the sandbox. With HY3D_API_KEY set and no HY3D_BASE_URL it talks to the real service instead.
demo: deps-run
	@$(MAKE) -s --no-print-directory all sandbox-core
	@mkdir -p out
	@if [ -n "$${HY3D_API_KEY:-}" ] && [ -z "$${HY3D_BASE_URL:-}" ]; then \
	  echo "demo: HY3D_API_KEY is set and HY3D_BASE_URL is not: using the real service"; \
	  LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(BUILD)/?.so;;" \
	    $(LUA) examples/text_to_3d.lua "$(PROMPT)" out; \
	else \
	  SANDBOX_LUA=$(SANDBOX_LUA) scripts/with-sandbox \
	    env LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(BUILD)/?.so;;" \
	    $(LUA) examples/text_to_3d.lua "$(PROMPT)" out; \
	fi

# Runs the sandbox in the foreground (Ctrl-C stops it).
sandbox: deps-run
	@$(MAKE) -s --no-print-directory sandbox-core
	$(SANDBOX_LUA) bin/hy3d-sandbox $(SANDBOX_ARGS)

install: all
	install -d $(DESTDIR)$(LIBDIR)/hy3d $(DESTDIR)$(LUADIR)/hy3d/sandbox $(DESTDIR)$(BINDIR)
	install -m 755 $(CORE) $(DESTDIR)$(LIBDIR)/hy3d/core.so
	install -m 644 lua/hy3d/*.lua $(DESTDIR)$(LUADIR)/hy3d/
	install -m 644 lua/hy3d/sandbox/*.lua $(DESTDIR)$(LUADIR)/hy3d/sandbox/
	install -m 755 bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox

clean:
	rm -rf $(BUILD) out

.PHONY: all sandbox-core deps-build deps-run deps-test deps-memory deps-sdk lint test test-all asan valgrind demo \
        sandbox install clean
