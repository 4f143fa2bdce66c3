# mk/fuzz.mk — the libFuzzer targets (included by the Makefile): fuzz, fuzz-build, fuzz-seeds, deps-fuzz.

# fuzz: three libFuzzer targets (fuzz/response.c: response bytes → req:result()'s classification;
# fuzz/request.c: Lua value trees → encode, tc3_sign, base64, core.new, engine:request;
# fuzz/answer.c: a JSON answer in a file → core.json_skim, core.json_b64_field),
# built with clang against the whole core (-fsanitize=fuzzer,address,undefined) and Lua 5.4, each
# run for FUZZ_SECONDS (CI: 60; a real session: make fuzz FUZZ_SECONDS=3600). The seeds in
# fuzz/corpus/<target> are read, what the fuzzer finds goes to build/fuzz/corpus/<target>; a crash
# (build/fuzz/<target>-crash-*) fails the target. Replay one: build/fuzz/response FILE.
# clang's libFuzzer runtime is libclang-rt-dev's (libclang-rt-14-dev on Debian 12).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     = build/fuzz
FUZZ_TARGETS = response request answer
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
$(FUZZ_DIR)/answer: fuzz/answer.c fuzz/fuzz.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DHY3D_FUZZ_CJSON_CPATH='"$(FUZZ_CJSON_CPATH)"' -fsanitize=fuzzer -o $@ fuzz/answer.c \
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
	@FUZZ_OPTIONS="$(FUZZ_OPTIONS)" scripts/fuzz $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

.PHONY: deps-fuzz fuzz fuzz-build fuzz-seeds
