# bench/bench.mk — the per-request overhead benchmarks, included by the Makefile.
#   make bench        bench/scale/run.sh and bench/tls/run.lua (1,000 jobs over TLS through nginx,
#                     HTTP/1.1 and HTTP/2, with and without the share handle), then bench/bench.lua
#                     in full (N = 10000 queries, 5 runs each, a callgrind profile of hy3d): writes BENCHMARKS.md and
#                     bench/out/overhead.json, about 3-5 minutes
#   make bench-quick  the same with N = 1500 and 3 runs (QUICK scale figures, 200 TLS jobs), under a minute
#   make bench-deps   installs the Debian packages they need (DEPS_BENCH; the peers' packages in
#                     DEPS_BENCH_PEERS are tried too, a contender whose package is missing is skipped)
# BENCH_ARGS adds bench/bench.lua options, e.g. make bench BENCH_ARGS="--only hy3d --reps 1".
# The driver and the Lua 5.4 contenders run under SANDBOX_LUA with the 5.4 core in SANDBOX_BUILD,
# the LuaJIT ones under BENCH_LUAJIT with build/luajit (whatever LUA_VERSION says).
BENCH_LUAJIT     ?= luajit
BENCH_LUAJIT_BUILD = build/luajit
DEPS_BENCH       = $(DEPS_RUN) lua5.4 liblua5.4-dev $(LUAJIT_PKGS) curl bash
DEPS_BENCH_PEERS = lua-http lua-cqueues lua-socket valgrind nginx openssl
BENCH_ENV = HY3D_BENCH_LUA54=$(SANDBOX_LUA) HY3D_BENCH_BUILD54=$(SANDBOX_BUILD) HY3D_BENCH_LUAJIT=$(BENCH_LUAJIT) \
            HY3D_BENCH_BUILDJIT=$(BENCH_LUAJIT_BUILD) HY3D_BENCH_SANDBOX_LUA=$(SANDBOX_LUA)

bench-deps:
	@scripts/deps.sh $(DEPS_BENCH)
	@-scripts/deps.sh $(DEPS_BENCH_PEERS) || echo "bench-deps: the contenders that need them will be skipped"

bench-cores: bench-deps
	@$(MAKE) -s --no-print-directory sandbox-core
	@$(MAKE) -s --no-print-directory LUA_VERSION=jit LUA=$(BENCH_LUAJIT) BUILD=$(BENCH_LUAJIT_BUILD) all
	@-$(MAKE) -s --no-print-directory deps-sdk

# The scale figures (bench/scale: 1,000 jobs, a 256 MB download, update() per frame) run first;
# bench/bench.lua puts them into BENCHMARKS.md beside its own table.
# bench/tls/run.lua (nginx + openssl; skipped with a note without them) writes bench/out/tls.json.
TLS_BENCH = LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(SANDBOX_BUILD)/?.so;;" $(SANDBOX_LUA) bench/tls/run.lua

bench: bench-cores
	@LUA=$(SANDBOX_LUA) bench/scale/run.sh
	@$(TLS_BENCH) 1000
	@$(BENCH_ENV) $(SANDBOX_LUA) bench/bench.lua $(BENCH_ARGS)

bench-quick: bench-cores
	@QUICK=1 LUA=$(SANDBOX_LUA) bench/scale/run.sh
	@$(TLS_BENCH) 200
	@$(BENCH_ENV) $(SANDBOX_LUA) bench/bench.lua --quick $(BENCH_ARGS)

.PHONY: bench bench-quick bench-deps bench-cores
