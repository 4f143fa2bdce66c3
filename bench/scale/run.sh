#!/bin/sh
# bench/scale/run.sh — the scale figures of issue #8, written to bench/out/scale.json (which
# bench/bench.lua folds into BENCHMARKS.md) and printed:
#   jobs1000  1,000 concurrent jobs from one thread (hy3d.spawn + hy3d.run, gateway door) against
#             hy3d-sandbox (--rate-limit 0 --concurrency pro=0, jobs of 0.5 s WAIT + 3 s RUN):
#             wall time vs job time, client CPU, resident memory growth (bench/scale/jobs.lua)
#   download  a 256 MB file: client:download vs `curl -o` from the same local server to /tmp,
#             alternating, each in a fresh process; MB/s and resident growth (bench/scale/download.lua)
#   jobs10k   10,000 concurrent jobs from one thread, the same way, once (issue #20): wall against
#             the ideal (job time + one poll interval), RSS peak growth per job, client and sandbox
#             CPU, and the share of the client's CPU in glibc's allocator (perf record, when perf
#             is there and may record; PERF=0 skips it)
#   update    client:update() per 16 ms frame with 200 jobs in flight, the sandbox delaying every
#             query by 2 s (bench/update.lua)
#   gameloop  client:update() per 16 ms frame with the default budget and 1,000 jobs (no delay):
#             how late each job finishes after its job time, in poll intervals, and update()'s
#             frame cost (bench/update.lua with JOB_SECONDS)
# Full: 3 runs of 1,000 jobs, one of 10,000, the 256 MB file 7 times each (after one untimed
# warm-up each), 3 update runs of ~900 frames, one game loop of 1,000 jobs. QUICK=1: 200 jobs once,
# 2,000 for the big run, a 32 MB file 3 times, one short update run, a game loop of 200 jobs (under
# a minute in all).
# Variables: LUA (default lua5.4), QUICK, JOBS, JOB_REPS, BIG_JOBS (0 skips that run), PERF, DL_MB,
# DL_REPS, UPDATE_RUN (RUN seconds of the update benchmark's jobs), UPDATE_REPS, LOOP_JOBS (0 skips
# the game loop), OUT (default
# bench/out/scale.json), BLOB_URL (a server's URL of a file of DL_MB MB to use instead of the
# built-in one; then BLOB_WARM_URL for a small file on it).
# The file server is bench/server.c (built here with cc into build/bench/server unless BENCH_SERVER
# names a binary), or python3's http.server when that file is absent.
# Needs: lua5.4, curl, cc (or python3), /usr/bin/time (Debian package time).
# Prints figures; asserts nothing about speed.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
lua=${LUA:-lua5.4}
quick=${QUICK:-0}
if [ "$quick" = 1 ]; then
  jobs=${JOBS:-200} job_reps=${JOB_REPS:-1} dl_mb=${DL_MB:-32} dl_reps=${DL_REPS:-3}
  update_run=${UPDATE_RUN:-3} update_reps=${UPDATE_REPS:-1} big_jobs=${BIG_JOBS:-2000} loop_jobs=${LOOP_JOBS:-200}
else
  jobs=${JOBS:-1000} job_reps=${JOB_REPS:-3} dl_mb=${DL_MB:-256} dl_reps=${DL_REPS:-7}
  update_run=${UPDATE_RUN:-10} update_reps=${UPDATE_REPS:-3} big_jobs=${BIG_JOBS:-10000} loop_jobs=${LOOP_JOBS:-1000}
fi
out=${OUT:-bench/out/scale.json}
mkdir -p "$(dirname "$out")"
case "$lua" in *jit*) cpath=${HY3D_CPATH:-./build/luajit/?.so} ;; *) cpath=${HY3D_CPATH:-./build/?.so} ;; esac
export LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="$cpath;;"
[ -f "${cpath%%\?.so}hy3d/core.so" ] || { echo "bench/scale/run.sh: build the core first (make)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/hy3d-scale.XXXXXX)
blob_pid=
. bench/scale/sandbox.sh
cleanup() {
  stop_sandbox
  [ -n "$blob_pid" ] && kill "$blob_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ===== 1. concurrent jobs =====
echo "== $jobs concurrent jobs from one thread ($job_reps run(s), jobs of 0.5 s WAIT + 3 s RUN, polls every 0.5 s)"
i=1
while [ "$i" -le "$job_reps" ]; do
  start_sandbox --run-s 3
  HY3D_SANDBOX_PID=$SANDBOX_PID "$lua" bench/scale/jobs.lua "$SANDBOX_URL" "$jobs" 3.5 0.5 "$tmp/jobs-$i.json"
  stop_sandbox
  i=$((i + 1))
done

# ===== 1b. many more jobs (issue #20: 10,000) =====
if [ "$big_jobs" -gt 0 ]; then
  perf_cmd=
  if [ "${PERF:-1}" != 0 ] && command -v perf >/dev/null 2>&1 &&
     perf record -q -o "$tmp/perf-probe.data" -- true >/dev/null 2>&1; then
    perf_cmd="perf record -q -F 499 -o $tmp/perf.data --"
  fi
  echo "== $big_jobs concurrent jobs from one thread (once${perf_cmd:+, under perf record})"
  start_sandbox --run-s 3
  HY3D_SANDBOX_PID=$SANDBOX_PID $perf_cmd "$lua" bench/scale/jobs.lua "$SANDBOX_URL" "$big_jobs" 3.5 0.5 "$tmp/big-1.json"
  stop_sandbox
  [ -n "$perf_cmd" ] && "$lua" bench/scale/malloc_share.lua "$tmp/perf.data" "$tmp/malloc.json"
fi

# ===== 2. download throughput =====
dest=$tmp/download.out
server_bin=${BENCH_SERVER:-build/bench/server}
if [ -n "${BLOB_URL:-}" ]; then
  url=$BLOB_URL warm=${BLOB_WARM_URL:-} server="BLOB_URL"
elif [ -f bench/server.c ] || [ -x "$server_bin" ]; then
  # bench/server.c: one thread, epoll, GET /blob?size=N streamed from a static buffer.
  if [ ! -x "$server_bin" ] || [ bench/server.c -nt "$server_bin" ]; then
    mkdir -p "$(dirname "$server_bin")"
    ${CC:-cc} -O2 -Wall -Wextra -o "$server_bin" bench/server.c
  fi
  "$server_bin" --lifetime 900 >"$tmp/blob.log" 2>&1 &
  blob_pid=$!
  base=
  for _ in $(seq 1 250); do
    base=$(head -n 1 "$tmp/blob.log")
    case "$base" in http://*) break ;; esac
    base=
    sleep 0.02
  done
  [ -n "$base" ] || { echo "bench/scale/run.sh: $server_bin did not start" >&2; cat "$tmp/blob.log" >&2; exit 1; }
  url="$base/blob?size=$((dl_mb * 1048576))" warm="$base/blob?size=65536" server="bench/server.c (epoll, static buffer)"
else
  # No C server: python3's http.server over a file (slower: it may cap both contenders).
  mkdir "$tmp/blob"
  head -c $((dl_mb * 1048576)) /dev/zero >"$tmp/blob/blob"
  head -c 65536 /dev/zero >"$tmp/blob/small"
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp/blob" >"$tmp/blob.log" 2>&1 &
  blob_pid=$!
  port=
  for _ in $(seq 1 250); do
    port=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$tmp/blob.log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.02
  done
  [ -n "$port" ] || { echo "bench/scale/run.sh: the file server did not start" >&2; cat "$tmp/blob.log" >&2; exit 1; }
  url=http://127.0.0.1:$port/blob warm=http://127.0.0.1:$port/small server="python3 -m http.server $(python3 -V 2>&1 | cut -d' ' -f2)"
fi
echo "== download of $dl_mb MB from $url ($server), $dl_reps times each, alternating, to $tmp"
dl_hy3d() {
  "$lua" bench/scale/download.lua "$url" "$dest" "$warm" >>"$tmp/dl-hy3d.jsonl"
  rm -f "$dest"
}
dl_curl() {
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time.txt" \
    curl -s -o "$dest" -w '%{time_total} %{size_download}' "$url" >"$tmp/curl.txt"
  echo "$(cat "$tmp/curl.txt") $(cat "$tmp/time.txt")" >>"$tmp/dl-curl.txt"
  rm -f "$dest"
}
# The ceiling: what the server and loopback deliver with no file written.
curl -s -o /dev/null -w '%{speed_download}\n' "$url" >"$tmp/dl-null.txt"
if [ "$quick" != 1 ]; then                      # untimed warm-ups: the file system's first writes
  dl_hy3d; dl_curl
  : >"$tmp/dl-hy3d.jsonl"; : >"$tmp/dl-curl.txt"
fi
i=1
while [ "$i" -le "$dl_reps" ]; do
  if [ $((i % 2)) = 1 ]; then dl_hy3d; dl_curl; else dl_curl; dl_hy3d; fi
  i=$((i + 1))
done
[ -n "$blob_pid" ] && kill "$blob_pid" 2>/dev/null || true
blob_pid=

# ===== 3. update() per frame =====
echo "== client:update() per 16 ms frame, 200 jobs in flight ($update_reps run(s), every query delayed 2 s, jobs of 0.5 s + ${update_run} s)"
i=1
while [ "$i" -le "$update_reps" ]; do
  start_sandbox --run-s "$update_run" --fault "query:delay:delay=2,count=-1"
  "$lua" bench/update.lua "$SANDBOX_URL" 200 "$tmp/update-$i.json"
  stop_sandbox
  i=$((i + 1))
done

# ===== 4. the game loop: 1,000 jobs, the default update() budget =====
if [ "$loop_jobs" -gt 0 ]; then
  echo "== game loop: $loop_jobs jobs, client:update() (default budget) per 16 ms frame, jobs of 0.5 s + 3 s"
  start_sandbox --run-s 3
  "$lua" bench/update.lua "$SANDBOX_URL" "$loop_jobs" "$tmp/loop-1.json" 3.5
  stop_sandbox
fi

# ===== the report =====
"$lua" bench/scale/report.lua "$tmp" "$out" "$quick" "$server" "$dl_mb" "$lua"
