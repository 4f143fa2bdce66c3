# hy3d — Lua client for Tencent Hunyuan 3D.  `make` builds, `make test` tests, `make demo` demos.
# Variables follow LuaRocks' names so a packager can override them.

LUA_VERSION ?= 5.4
LUA         ?= lua$(LUA_VERSION)
LUA_INCDIR  ?= /usr/include/lua$(LUA_VERSION)
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUADIR      ?= $(PREFIX)/share/lua/$(LUA_VERSION)
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
BUILD       ?= build
SANDBOX_LUA ?= lua5.4
BUSTED      ?= /usr/bin/busted
PROMPT      ?= a small wooden chair

# Debian packages each target needs (installed by scripts/deps.sh when missing).
DEPS_BUILD  = gcc make pkg-config lua$(LUA_VERSION) liblua$(LUA_VERSION)-dev libcurl4-openssl-dev libssl-dev lua-cjson
DEPS_RUN    = $(DEPS_BUILD) lua-socket lua-zlib
DEPS_TEST   = $(DEPS_RUN) lua-busted lua-check luarocks unzip pngcheck
DEPS_MEMORY = $(DEPS_TEST) valgrind

# The specs that drive the C core in-process (the others mostly run child processes).
MEMORY_SPECS = spec/core_spec.lua spec/sign_spec.lua spec/api3_spec.lua spec/client_spec.lua spec/download_spec.lua spec/error_spec.lua spec/wait_spec.lua
SAN_CFLAGS   = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

SRCS = src/hy3d_core.c src/hy3d_engine.c src/hy3d_request.c src/hy3d_json.c src/hy3d_sign.c src/hy3d_buf.c
HDRS = src/hy3d.h src/hy3d_compat.h src/hy3d_buf.h
OBJS = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
CORE = $(BUILD)/hy3d/core.so

all: $(CORE)

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
SDK_DIR = $(BUILD)/sdk
deps-sdk: $(SDK_DIR)/node_modules/.package-lock.json
$(SDK_DIR)/node_modules/.package-lock.json: spec/sdk/package.json spec/sdk/package-lock.json
	@mkdir -p $(SDK_DIR) && cp spec/sdk/package.json spec/sdk/package-lock.json $(SDK_DIR)/
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(SDK_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null || echo "deps-sdk: npm ci failed"; \
	else echo "deps-sdk: npm not found; the SDK interop spec will be pending"; fi

lint: deps-test
	luacheck -q .

# Lint, then the whole busted suite (real HTTP against hy3d-sandbox on 127.0.0.1).
# The last line is "N passed, N failed".
test: deps-test
	@$(MAKE) -s --no-print-directory all
	@-$(MAKE) -s --no-print-directory deps-sdk
	@luacheck -q . || { echo "luacheck failed"; echo "0 passed, 1 failed"; exit 1; }
	@HY3D_SANDBOX_LUA=$(SANDBOX_LUA) HY3D_TEST_LUA=$(LUA) $(LUA) $(BUSTED) -o spec/support/summary.lua $(BUSTED_ARGS)

# The in-process specs against a core built with AddressSanitizer and UndefinedBehaviorSanitizer
# (the stock interpreter gets the runtimes preloaded; leaks are valgrind's job).
asan: deps-memory
	@$(MAKE) -s --no-print-directory BUILD=build/asan CFLAGS="$(SAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined" all
	@HY3D_CPATH="./build/asan/?.so" HY3D_TEST_LUA=$(LUA) \
	  LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(LUA) $(BUSTED) -o spec/support/summary.lua $(MEMORY_SPECS)

# The same specs under valgrind memcheck: any invalid access or definite leak fails.
valgrind: deps-memory
	@$(MAKE) -s --no-print-directory all
	@HY3D_TEST_LUA=$(LUA) valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  --show-leak-kinds=definite $(LUA) $(BUSTED) -o spec/support/summary.lua $(MEMORY_SPECS)

# Starts the sandbox, generates a model from PROMPT with examples/text_to_3d.lua into out/, stops
# the sandbox. With HY3D_API_KEY set and no HY3D_BASE_URL it talks to the real service instead.
demo: deps-run
	@$(MAKE) -s --no-print-directory all
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
	$(SANDBOX_LUA) bin/hy3d-sandbox $(SANDBOX_ARGS)

install: all
	install -d $(DESTDIR)$(LIBDIR)/hy3d $(DESTDIR)$(LUADIR)/hy3d/sandbox $(DESTDIR)$(BINDIR)
	install -m 755 $(CORE) $(DESTDIR)$(LIBDIR)/hy3d/core.so
	install -m 644 lua/hy3d/*.lua $(DESTDIR)$(LUADIR)/hy3d/
	install -m 644 lua/hy3d/sandbox/*.lua $(DESTDIR)$(LUADIR)/hy3d/sandbox/
	install -m 755 bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox

clean:
	rm -rf $(BUILD) out

.PHONY: all deps-build deps-run deps-test deps-memory deps-sdk lint test asan valgrind demo sandbox install clean
