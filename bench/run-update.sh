#!/bin/sh
# bench/run-update.sh — runs bench/update.lua against a sandbox that delays every query by
# DELAY seconds (default 2) and runs each job for RUN seconds (default 3).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lua=${LUA:-lua5.4}
log=$(mktemp)
lua5.4 bin/hy3d-sandbox --port 0 --lifetime 900 --rate-limit 0 --concurrency pro=0 --wait-s 0.5 \
  --run-s "${RUN:-3}" --fault "query:delay:delay=${DELAY:-2},count=-1" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 250); do url=$(head -n 1 "$log"); case "$url" in http://*) break ;; esac; sleep 0.02; done
LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="${HY3D_CPATH:-./build/?.so};;" "$lua" bench/update.lua "$url" "${JOBS:-200}" "${SCALE:-1000}"
