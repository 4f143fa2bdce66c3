# bench/scale/sandbox.sh — sourced by the scale benchmarks: start_sandbox [extra options] starts
# hy3d-sandbox (no rate limit, unlimited Pro concurrency, jobs WAIT 0.5 s then RUN for --run-s)
# on a free port and sets SANDBOX_URL; stop_sandbox stops it. One at a time.
SANDBOX_PID=
SANDBOX_LOG=
stop_sandbox() {
  if [ -n "$SANDBOX_PID" ]; then
    if ! kill "$SANDBOX_PID" 2>/dev/null; then
      echo "bench: the sandbox had exited before the end; its last lines:" >&2
      tail -n 30 "$SANDBOX_LOG" >&2
    fi
    wait "$SANDBOX_PID" 2>/dev/null || true
  fi
  [ -n "$SANDBOX_LOG" ] && rm -f "$SANDBOX_LOG"
  SANDBOX_PID= SANDBOX_LOG=
}
start_sandbox() {
  SANDBOX_LOG=$(mktemp)
  ${SANDBOX_LUA:-lua5.4} sandbox/bin/hy3d-sandbox --port 0 --lifetime 900 --rate-limit 0 --concurrency pro=0 \
    --wait-s 0.5 "$@" >"$SANDBOX_LOG" 2>&1 &
  SANDBOX_PID=$!
  SANDBOX_URL=
  for _ in $(seq 1 250); do
    SANDBOX_URL=$(head -n 1 "$SANDBOX_LOG")
    case "$SANDBOX_URL" in http://*) return 0 ;; esac
    sleep 0.02
  done
  echo "bench: the sandbox did not start:" >&2
  cat "$SANDBOX_LOG" >&2
  stop_sandbox
  return 1
}
