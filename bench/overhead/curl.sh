#!/bin/bash
# bench/overhead/curl.sh — the curl command line, one process per request, the way a shell
# script talks to the gateway: 1 submit, then N queries, each body captured with $(curl ...).
# Usage: bench/overhead/curl.sh URL N. Prints one JSON line like the other contenders.
# Timed with bash's EPOCHREALTIME (no fork per timestamp); CPU of the loop from `times`.
set -u
url=$1 n=$2
key="Authorization: sk-hy3d-sandbox"
type="Content-Type: application/json"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# User+sys seconds of this shell and its children so far into $cpu (`times` must run in this
# shell, not in a $(...) subshell).
cpu() {
  times >"$tmp"
  cpu=$(awk '{ for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.3f", s }' "$tmp")
}
t0=$EPOCHREALTIME
out=$(curl -s -X POST -H "$key" -H "$type" -d '{"Prompt":"a small wooden chair"}' "$url/v1/ai3d/submit")
t1=$EPOCHREALTIME
submit=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1e6 }')
job=${out#*\"JobId\":\"}
job=${job%%\"*}
errors=0
lat=()
cpu; c0=$cpu
w0=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do
  a=$EPOCHREALTIME
  out=$(curl -s -X POST -H "$key" -H "$type" -d "{\"JobId\":\"$job\"}" "$url/v1/ai3d/query")
  b=$EPOCHREALTIME
  case $out in *'"Status":"DONE"'*) ;; *) errors=$((errors + 1)) ;; esac
  lat+=("$a $b")
done
w1=$EPOCHREALTIME
cpu; c1=$cpu
printf '%s\n' "${lat[@]}" | awk '{ printf "%.3f\n", ($2 - $1) * 1e6 }' | sort -n | awk -v w0="$w0" -v w1="$w1" \
  -v c0="$c0" -v c1="$c1" -v submit="$submit" -v errors="$errors" '
  { d[NR] = $1 }
  END {
    m = NR
    p50 = m ? d[int(m * 0.5 + 0.999999)] : 0; p99 = m ? d[int(m * 0.99 + 0.999999)] : 0
    printf "{\"name\":\"curl-cli\",\"requests\":%d,\"p50_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,", m, p50, p99, m ? (w1 - w0) / m * 1e6 : 0
    printf "\"wall_s\":%.3f,\"cpu_s\":%.3f,\"submit_us\":%s,\"errors\":%d}\n", w1 - w0, c1 - c0, submit, errors
  }'
