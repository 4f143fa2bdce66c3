# hy3d — Lua client for Tencent Hunyuan 3D.  `make` builds, `make test` tests, `make demo` demos.
# Variables follow LuaRocks' names so a packager can override them.

# LUA_VERSION picks the interpreter: 5.1, 5.2, 5.3, 5.4 (default) or jit (LuaJIT 2.1, module ABI 5.1).
# Each version builds in its own directory: build (5.4), build/lua5.1, build/lua5.2, build/lua5.3,
# build/luajit.
LUA_VERSION ?= 5.4
# LuaJIT is Debian's OpenResty-maintained branch (luajit2, /usr/bin/luajit): libnginx-mod-http-lua
# needs it (through lua-resty-core) and it conflicts with Debian's luajit; LÖVE and Neovim take either.
LUAJIT_PKGS = luajit2 libluajit2-5.1-dev
ifeq ($(LUA_VERSION),jit)
LUA         ?= luajit
LUA_INCDIR  ?= /usr/include/luajit-2.1
LUA_ABI     = 5.1
LUA_PKGS    = $(LUAJIT_PKGS)
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
# hy3d-sandbox (sandbox/: its own product and rock beside the library) needs Lua 5.3+ and always runs
# under SANDBOX_LUA with a 5.4 build of the core in SANDBOX_BUILD (the one sandbox/bin/hy3d-sandbox
# finds in a checkout), whatever LUA_VERSION the suite uses.
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
              $(LUAJIT_PKGS) lua5.1 liblua5.1-0-dev nodejs npm nginx libnginx-mod-http-lua openssl curl \
              libassimp-dev assimp-utils chromium
DEPS_MEMORY = $(DEPS_TEST) valgrind
# The host specs (spec/hosts/): Tarantool's and Neovim's own packages run hy3d on LuaJIT.
DEPS_TEST  += tarantool neovim

# The specs by folder (spec/unit, spec/client, spec/threads, spec/cli, spec/tooling, spec/sandbox).
# spec/sandbox holds the emulator's own specs: Lua 5.3+ like the emulator itself, so 5.1, 5.2 and
# LuaJIT run every other folder (TEST_SPECS); 5.3 and 5.4 run the whole suite (busted's ROOT, spec).
SPEC_DIRS     = $(patsubst %/,%,$(sort $(dir $(wildcard spec/*/*_spec.lua))))
SANDBOX_SPECS = spec/sandbox
ifneq ($(filter 5.1 5.2 jit,$(LUA_VERSION)),)
TEST_SPECS = $(filter-out $(SANDBOX_SPECS),$(SPEC_DIRS))
endif
# The interpreters of the suite's children, and the core its sandboxes load: on 5.4 the suite's
# own (so under `make asan` they load the sanitizer build too), else the 5.4 one in SANDBOX_BUILD.
# HY3D_CPATH (read by .busted) says where the suite itself finds hy3d.core.
# HY3D_CACHE_DIR is emptied (blank means off): a developer's cache would answer the specs' generates.
TEST_ENV = HY3D_SANDBOX_LUA=$(SANDBOX_LUA) HY3D_TEST_LUA=$(LUA) $(if $(OFFLINE),HY3D_OFFLINE=1) HY3D_CACHE_DIR= \
           $(if $(filter 5.4,$(LUA_VERSION)),,HY3D_SANDBOX_CPATH="./$(SANDBOX_BUILD)/?.so")

SRCS = src/hy3d_core.c src/hy3d_engine.c src/hy3d_request.c src/hy3d_poll.c src/hy3d_download.c src/hy3d_result.c \
       src/hy3d_handle.c src/hy3d_sign.c src/hy3d_json.c src/hy3d_files.c src/hy3d_image.c src/hy3d_util.c \
       src/hy3d_buf.c src/hy3d_scan.c
HDRS = src/hy3d.h src/hy3d_compat.h src/hy3d_buf.h
OBJS = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
CORE = $(BUILD)/hy3d/core.so

# hy3d.mesh (src/inspect/): the optional mesh reader behind hy3d.inspect, on Open Asset Import Library
# (libassimp-dev, in DEPS_TEST, not DEPS_BUILD). Built by `all` and installed by `install` only where
# libassimp is found (MESH= empty leaves it out); the core and both rockspecs never need it.
ASSIMP_CFLAGS ?= $(shell pkg-config --cflags assimp 2>/dev/null)
ASSIMP_LIBS ?= $(shell pkg-config --libs assimp 2>/dev/null || echo -lassimp)
MESH_SO     = $(BUILD)/hy3d/mesh.so
MESH ?= $(if $(wildcard /usr/include/assimp/cimport.h)$(shell pkg-config --exists assimp 2>/dev/null && echo y),$(MESH_SO))

all: $(CORE) $(MESH)

mesh: $(MESH_SO)
$(MESH_SO): src/inspect/hy3d_mesh.c src/hy3d_compat.h
	@test -f $(LUA_INCDIR)/lua.h || { echo "make: $(LUA_INCDIR)/lua.h not found" >&2; exit 1; }
	@mkdir -p $(dir $@) $(BUILD)/obj/inspect
	$(CC) -std=c99 $(CFLAGS) $(WARNINGS) -fPIC -fvisibility=hidden -I$(LUA_INCDIR) $(ASSIMP_CFLAGS) $(ZIP_CFLAGS) \
	  -c -o $(BUILD)/obj/inspect/hy3d_mesh.o src/inspect/hy3d_mesh.c
	$(CC) $(LIBFLAG) $(LDFLAGS) -o $@ $(BUILD)/obj/inspect/hy3d_mesh.o $(ASSIMP_LIBS) $(ZIP_LIBS)

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
	@$(if $(OFFLINE),HY3D_OFFLINE=1 )scripts/deps.sh $(DEPS_TEST)
deps-memory:
	@scripts/deps.sh $(DEPS_MEMORY)

# Tencent's official Node.js SDK, pinned in spec/tooling/sdk/package-lock.json, for the interop spec
# (spec/tooling/sdk_spec.lua, part of every suite run: it fails when Node.js or the SDK is missing). npm
# comes with DEPS_TEST (nodejs npm); without npm or the npm registry, this target fails.
SDK_DIR = build/sdk
deps-sdk: $(SDK_DIR)/node_modules/.package-lock.json
$(SDK_DIR)/node_modules/.package-lock.json: spec/tooling/sdk/package.json spec/tooling/sdk/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "deps-sdk: npm not found (make deps-test installs nodejs and npm)" >&2; exit 1; }
	@mkdir -p $(SDK_DIR) && cp spec/tooling/sdk/package.json spec/tooling/sdk/package-lock.json $(SDK_DIR)/
	@cd $(SDK_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null || { \
	  echo "deps-sdk: npm ci failed in $(SDK_DIR) (it needs the npm registry once; see the output above)" >&2; exit 1; }

# The 3D viewer of `hy3d gallery`: @google/model-viewer's UMD build (a classic script, so a gallery
# works from file://), pinned in share/gallery/package-lock.json, fetched with npm into build/ (never
# committed: ~1 MB of third-party code) and installed by `make install` beside the module, in
# $(LUADIR)/hy3d/gallery/, when present.
# `make test` runs it like deps-sdk (spec/cli/gallery_spec.lua); without it, a gallery has no 3D views.
VIEWER_DIR = build/model-viewer
VIEWER_JS = $(VIEWER_DIR)/model-viewer-umd.min.js
deps-viewer: $(VIEWER_JS)
$(VIEWER_JS): share/gallery/package.json share/gallery/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "deps-viewer: npm not found (make deps-test installs nodejs and npm)" >&2; exit 1; }
	@mkdir -p $(VIEWER_DIR)/npm && cp share/gallery/package.json share/gallery/package-lock.json $(VIEWER_DIR)/npm/
	@cd $(VIEWER_DIR)/npm && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null || { \
	  echo "deps-viewer: npm ci failed in $(VIEWER_DIR)/npm (it needs the npm registry once)" >&2; exit 1; }
	@cp $(VIEWER_DIR)/npm/node_modules/@google/model-viewer/LICENSE $(VIEWER_DIR)/LICENSE.model-viewer
	@cp $(VIEWER_DIR)/npm/node_modules/@google/model-viewer/dist/model-viewer-umd.min.js $@

# OFFLINE=1 (what `luarocks test` sets: scripts/luarocks-test.lua): `make test` fetches nothing: deps-test names
# missing packages without installing them, deps-sdk is not run, and a spec whose host or tool is absent
# (the Node.js SDK, LÖVE, …) reports pending with the reason (HY3D_OFFLINE=1 in the suite's environment).
OFFLINE ?=

lint: deps-test
	luacheck -q .

# Lint, then the busted suite under $(LUA) (real HTTP against hy3d-sandbox on 127.0.0.1): every
# spec on 5.3/5.4, TEST_SPECS on 5.1/5.2/LuaJIT. The last line is "N passed, N failed".
test: deps-test
	@$(MAKE) -s --no-print-directory all sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit all   # the LÖVE example (spec/tooling/love_spec.lua) runs LuaJIT
	@$(if $(OFFLINE),true,$(MAKE) -s --no-print-directory deps-sdk) || { echo "deps-sdk failed"; echo "0 passed, 1 failed"; exit 1; }
	@$(if $(OFFLINE),true,$(MAKE) -s --no-print-directory deps-viewer) || { echo "deps-viewer failed"; echo "0 passed, 1 failed"; exit 1; }
	@luacheck -q . || { echo "luacheck failed"; echo "0 passed, 1 failed"; exit 1; }
	@HY3D_CPATH="./$(BUILD)/?.so" $(TEST_ENV) $(LUA) $(BUSTED) -o spec/support/summary.lua $(BUSTED_ARGS) $(TEST_SPECS)

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
	$(SANDBOX_LUA) sandbox/bin/hy3d-sandbox $(SANDBOX_ARGS)

# The library and the hy3d command (every .lua under lua/, subfolders included), for LUA_VERSION's
# Lua; then hy3d-sandbox beside them.
LIB_MODULES = $(patsubst lua/%,%,$(shell find lua -name '*.lua' | sort))
install: all
	install -d $(DESTDIR)$(LIBDIR)/hy3d $(DESTDIR)$(BINDIR)
	install -m 755 $(CORE) $(DESTDIR)$(LIBDIR)/hy3d/core.so
	$(if $(MESH),install -m 755 $(MESH) $(DESTDIR)$(LIBDIR)/hy3d/mesh.so)
	@for f in $(LIB_MODULES); do install -D -m 644 lua/$$f $(DESTDIR)$(LUADIR)/$$f || exit 1; done
	sed '1s|.*|#!/usr/bin/env $(notdir $(LUA))|' bin/hy3d > $(DESTDIR)$(BINDIR)/hy3d
	chmod 755 $(DESTDIR)$(BINDIR)/hy3d
	@if [ -f $(VIEWER_JS) ]; then install -D -m 644 $(VIEWER_JS) $(DESTDIR)$(LUADIR)/hy3d/gallery/model-viewer-umd.min.js && \
	  install -m 644 $(VIEWER_DIR)/LICENSE.model-viewer $(DESTDIR)$(LUADIR)/hy3d/gallery/LICENSE.model-viewer; \
	else echo "install: no $(VIEWER_JS) (make deps-viewer fetches it): hy3d gallery will have no 3D views"; fi
	@$(MAKE) -s --no-print-directory install-sandbox

# hy3d-sandbox (sandbox/): its modules (every .lua under sandbox/lua, subfolders included) and its
# bin. It always runs on Lua 5.4 (SANDBOX_LUA), so with another LUA_VERSION the 5.4 core and the
# library go to SANDBOX_LIBDIR and SANDBOX_LUADIR too (it finds them from BINDIR/..), or, without
# Lua 5.4 and its headers, the sandbox is left out with a note.
SANDBOX_MODULES = $(patsubst sandbox/lua/%,%,$(shell find sandbox/lua -name '*.lua' | sort))
install-sandbox:
ifeq ($(LUA_VERSION),5.4)
	install -d $(DESTDIR)$(BINDIR)
	@for f in $(SANDBOX_MODULES); do install -D -m 644 sandbox/lua/$$f $(DESTDIR)$(LUADIR)/$$f || exit 1; done
	install -m 755 sandbox/bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox
else
	@if [ -f $(SANDBOX_INCDIR)/lua.h ] && command -v $(SANDBOX_LUA) >/dev/null 2>&1; then \
	  $(MAKE) -s --no-print-directory sandbox-core && \
	  install -d $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d $(DESTDIR)$(SANDBOX_LUADIR)/hy3d $(DESTDIR)$(BINDIR) && \
	  install -m 755 $(SANDBOX_BUILD)/hy3d/core.so $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d/core.so && \
	  for f in $(LIB_MODULES); do install -D -m 644 lua/$$f $(DESTDIR)$(SANDBOX_LUADIR)/$$f || exit 1; done && \
	  for f in $(SANDBOX_MODULES); do install -D -m 644 sandbox/lua/$$f $(DESTDIR)$(SANDBOX_LUADIR)/$$f || exit 1; done && \
	  install -m 755 sandbox/bin/hy3d-sandbox $(DESTDIR)$(BINDIR)/hy3d-sandbox; \
	else \
	  echo "install: hy3d-sandbox left out: it runs on Lua 5.4 ($(SANDBOX_LUA) and $(SANDBOX_INCDIR)/lua.h;" \
	    "Debian/Ubuntu: sudo apt-get install lua5.4 liblua5.4-dev), then make install again"; \
	fi
endif

# uninstall: what install put there for the same variables (LUA_VERSION, PREFIX, LIBDIR, LUADIR, BINDIR,
# DESTDIR), from the module lists of this checkout; then hy3d's own directories when empty. The shared
# ones (LIBDIR, LUADIR, BINDIR and their parents) are removed only inside a DESTDIR, and only when empty.
# With another LUA_VERSION, that includes the 5.4 core and modules install put beside it for hy3d-sandbox.
UNINSTALL_RM = sh -c 'for f in "$$@"; do if [ -f "$$f" ] || [ -L "$$f" ]; then rm -f "$$f" && echo "removed $$f"; fi; done' rm
# rmdir each directory given (deepest first) when empty; inside a DESTDIR, then its parents up to DESTDIR.
UNINSTALL_RMDIR = sh -c 'top="$${DESTDIR%/}"; for d in "$$@"; do \
	  while [ -n "$$d" ] && [ "$$d" != / ] && [ "$$d" != . ] && [ "$$d" != "$$top" ]; do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || break; fi; \
	    [ -n "$$top" ] || break; d=$$(dirname "$$d"); done; done' rmdir
uninstall_dirs = $(addprefix $(1)/,$(shell printf '%s\n' $(patsubst %/,%,$(dir $(2))) | sort -ru))
uninstall_shared = $(if $(DESTDIR),$(addprefix $(DESTDIR),$(1)))
uninstall: uninstall-sandbox
	@$(UNINSTALL_RM) $(DESTDIR)$(LIBDIR)/hy3d/core.so $(DESTDIR)$(LIBDIR)/hy3d/mesh.so $(DESTDIR)$(BINDIR)/hy3d \
	  $(addprefix $(DESTDIR)$(LUADIR)/hy3d/gallery/,model-viewer-umd.min.js LICENSE.model-viewer) $(addprefix $(DESTDIR)$(LUADIR)/,$(LIB_MODULES))
	@DESTDIR="$(DESTDIR)" $(UNINSTALL_RMDIR) $(DESTDIR)$(LUADIR)/hy3d/gallery $(call uninstall_dirs,$(DESTDIR)$(LUADIR),$(LIB_MODULES)) \
	  $(DESTDIR)$(LIBDIR)/hy3d $(call uninstall_shared,$(LIBDIR) $(LUADIR) $(BINDIR))
uninstall-sandbox:
ifeq ($(LUA_VERSION),5.4)
	@$(UNINSTALL_RM) $(DESTDIR)$(BINDIR)/hy3d-sandbox $(addprefix $(DESTDIR)$(LUADIR)/,$(SANDBOX_MODULES))
	@DESTDIR="$(DESTDIR)" $(UNINSTALL_RMDIR) $(call uninstall_dirs,$(DESTDIR)$(LUADIR),$(SANDBOX_MODULES)) \
	  $(call uninstall_shared,$(LUADIR) $(BINDIR))
else
	@$(UNINSTALL_RM) $(DESTDIR)$(BINDIR)/hy3d-sandbox $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d/core.so \
	  $(addprefix $(DESTDIR)$(SANDBOX_LUADIR)/,$(LIB_MODULES) $(SANDBOX_MODULES))
	@DESTDIR="$(DESTDIR)" $(UNINSTALL_RMDIR) \
	  $(call uninstall_dirs,$(DESTDIR)$(SANDBOX_LUADIR),$(LIB_MODULES) $(SANDBOX_MODULES)) \
	  $(DESTDIR)$(SANDBOX_LIBDIR)/hy3d $(call uninstall_shared,$(SANDBOX_LIBDIR) $(SANDBOX_LUADIR) $(BINDIR))
endif

# The builds, and what `luarocks make` leaves in a checkout (objects beside the sources, ./hy3d/core.so).
# Never out/: `make demo` and users put their models there.
clean:
	rm -rf $(BUILD) hy3d/core.so src/*.o
	@rmdir hy3d 2>/dev/null || true

.PHONY: all mesh sandbox-core deps-build deps-run deps-test deps-memory deps-sdk deps-viewer lint test demo sandbox install install-sandbox \
        uninstall uninstall-sandbox clean

# The checks: test-all, asan/test-asan, valgrind/test-valgrind, test-tsan (mk/checks.mk); fuzz (mk/fuzz.mk);
# bench, bench-quick (bench/bench.mk); mutate (mk/mutate.mk).
include mk/checks.mk mk/fuzz.mk bench/bench.mk mk/mutate.mk
# doc (the API reference, LDoc; adds lua-ldoc to DEPS_TEST): mk/doc.mk.
include mk/doc.mk
