#!/bin/sh
# bench/run-update.sh — the game-loop figures: bench/update.lua (client:update() per 16 ms frame
# with JOBS jobs in flight, default 200) against a sandbox that delays every query by DELAY seconds
# (default 2) and runs each job for 0.5 + RUN seconds (RUN default 3); then, unless SCALE=0,
# bench/scale/jobs.lua (SCALE concurrent jobs, default 1000) against a sandbox without the delay.
# OUT=dir writes update.json and jobs1000.json there. bench/scale/run.sh runs all scale figures.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
lua=${LUA:-lua5.4}
. bench/scale/sandbox.sh
trap stop_sandbox EXIT
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="${HY3D_CPATH:-./build/?.so};;"
out=${OUT:-}
start_sandbox --run-s "${RUN:-3}" --fault "query:delay:delay=${DELAY:-2},count=-1"
"$lua" bench/update.lua "$SANDBOX_URL" "${JOBS:-200}" "${out:+$out/update.json}"
stop_sandbox
if [ "${SCALE:-1000}" -gt 0 ]; then
  start_sandbox --run-s "${RUN:-3}"
  HY3D_SANDBOX_PID=$SANDBOX_PID "$lua" bench/scale/jobs.lua "$SANDBOX_URL" "${SCALE:-1000}" "$(awk "BEGIN{print 0.5 + ${RUN:-3}}")" 0.5 \
    "${out:+$out/jobs1000.json}"
  stop_sandbox
fi
