#!/bin/sh
# bench/sandbox.sh — how fast hy3d-sandbox answers on loopback (so it is never the bottleneck of
# the client's benchmarks). Needs wrk (Debian package wrk). Prints requests per second for:
# gateway query, signed API 3.0 query, gateway submit (jobs pile up), and a query with 200
# keep-alive connections open. DURATION (seconds, default 5) sets each run's length.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
d=${DURATION:-5}
lua=${SANDBOX_LUA:-lua5.4}
command -v wrk >/dev/null || { echo "bench/sandbox.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
log=$(mktemp)
"$lua" sandbox/bin/hy3d-sandbox --port 0 --lifetime 600 --rate-limit 0 --concurrency pro=0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 250); do url=$(head -n 1 "$log"); case "$url" in http://*) break ;; esac; sleep 0.02; done
ts=$(date +%s)
auth=$(TS=$ts HOST=${url#http://} LUA_CPATH="./build/?.so;;" "$lua" -e '
  local core = require "hy3d.core"
  io.write((core.tc3_sign { secret_id = "AKIDhy3dSandboxSecretId0000000000",
    secret_key = "hy3dSandboxSecretKey000000000000", timestamp = tonumber(os.getenv("TS")),
    host = os.getenv("HOST"), payload = [[{"JobId":"1357237233311637504"}]] }))')
rps() { sed -n 's/^Requests\/sec: *//p'; }
echo "hy3d-sandbox on $url ($("$lua" -v 2>&1 | head -n 1)), ${d}s per run, one core"
printf '%-46s %s\n' "scenario" "requests/s"
printf '%-46s %s\n' "gateway query, 1 connection" "$(wrk -t1 -c1 -d"${d}s" -s bench/sandbox_query.lua "$url/v1/ai3d/query" | rps)"
printf '%-46s %s\n' "API 3.0 query (TC3 verified), 1 connection" \
  "$(HY3D_AUTH=$auth HY3D_TS=$ts wrk -t1 -c1 -d"${d}s" -s bench/sandbox_api3.lua "$url/" | rps)"
printf '%-46s %s\n' "gateway submit (a job each), 1 connection" "$(wrk -t1 -c1 -d"${d}s" -s bench/sandbox_submit.lua "$url/v1/ai3d/submit" | rps)"
printf '%-46s %s\n' "gateway query, 200 keep-alive connections" "$(wrk -t1 -c200 -d"${d}s" -s bench/sandbox_query.lua "$url/v1/ai3d/query" | rps)"
curl -s "$url/_sandbox/stats" | "$lua" -e 'local s = io.read("a"); io.write("jobs in the store: ", s:match([["jobs_created":(%d+)]]) or "?", "\n")'
