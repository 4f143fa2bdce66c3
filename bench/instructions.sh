#!/bin/sh
# bench/instructions.sh — instructions per query of two checkouts, side by side, under callgrind
# (noise-free where timings on a shared VM are not): each tree's client runs bench/queries.lua with
# N = 200 and N = 1200 queries against hy3d-sandbox; per query = (Ir(1200) - Ir(200)) / 1000, so
# start-up and the submit cancel out. Usage: bench/instructions.sh OLD_TREE [NEW_TREE], each tree
# built (`make all` and `make LUA_VERSION=jit all`). Prints one line per runtime and door.
set -eu
old=$1; new=${2:-$(cd "$(dirname "$0")/.." && pwd)}
here=$(cd "$(dirname "$0")/.." && pwd)
count() { # lua build door tree N
  SANDBOX_ARGS="--rate-limit 0" DOOR=$3 "$here/scripts/with-sandbox" env LUA_PATH="$4/lua/?.lua;$4/lua/?/init.lua;;" \
    LUA_CPATH="$4/$2/?.so;;" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$here/bench/queries.lua" "$5" 2>&1 |
    awk '/Collected/ { print $4 }'
}
for cfg in "lua5.4 build gateway" "luajit build/luajit gateway" "lua5.4 build api3"; do
  # shellcheck disable=SC2086
  set -- $cfg
  o=$(( ($(count "$1" "$2" "$3" "$old" 1200) - $(count "$1" "$2" "$3" "$old" 200)) / 1000 ))
  n=$(( ($(count "$1" "$2" "$3" "$new" 1200) - $(count "$1" "$2" "$3" "$new" 200)) / 1000 ))
  echo "$1 $3: $o -> $n instructions per query ($(awk -v o="$o" -v n="$n" 'BEGIN { printf "%.3f", n / o }')x)"
done
