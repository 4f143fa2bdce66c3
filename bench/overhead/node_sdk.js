// Tencent's official Node.js SDK (tencentcloud-sdk-nodejs-ai3d, pinned in spec/tooling/sdk, installed in
// build/sdk by `make deps-sdk`) against the API 3.0 door: SubmitHunyuanTo3DProJob, then N
// QueryHunyuanTo3DProJob, TC3-signed like hy3d's API 3.0 client.
// Usage: NODE_PATH=build/sdk/node_modules node node_sdk.js URL N [default|keepalive]
//   default    the SDK as shipped (no httpProfile.agent): its node-fetch 2.7 uses Node's global
//              agent, which keeps connections alive since Node 19 (one connection on Node 20)
//   keepalive  httpProfile.agent = new http.Agent({ keepAlive: true, maxSockets: 1 }), what an
//              older Node needs for the same
// Prints one JSON line like the other contenders (bench/overhead/common.lua).
"use strict";
const http = require("http");
const { ai3d } = require("tencentcloud-sdk-nodejs-ai3d");

const [url, nArg, mode = "default"] = process.argv.slice(2);
const n = Number(nArg);
const httpProfile = { endpoint: url.replace(/^http:\/\//, ""), protocol: "http://", reqTimeout: 10 };
if (mode === "keepalive") httpProfile.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const client = new ai3d.v20250513.Client({
  credential: { secretId: "AKIDhy3dSandboxSecretId0000000000", secretKey: "hy3dSandboxSecretKey000000000000" },
  region: "ap-guangzhou",
  profile: { httpProfile },
});

const now = () => Number(process.hrtime.bigint()) / 1e9;

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(1, Math.ceil(sorted.length * p)) - 1];
}

async function main() {
  let t = now();
  const job = await client.SubmitHunyuanTo3DProJob({ Prompt: "a small wooden chair" });
  const submit = now() - t;
  const lat = new Array(n);
  let errors = 0;
  const c0 = process.cpuUsage();
  const w0 = now();
  for (let i = 0; i < n; i++) {
    const a = now();
    const res = await client.QueryHunyuanTo3DProJob({ JobId: job.JobId });
    lat[i] = now() - a;
    if (res.Status !== "DONE") errors++;
  }
  const wall = now() - w0;
  const c = process.cpuUsage(c0);
  const sorted = lat.slice().sort((x, y) => x - y);
  const f = (x) => Number(x.toFixed(3));
  process.stdout.write(JSON.stringify({
    name: "node-sdk-" + mode, requests: n, p50_us: f(percentile(sorted, 0.5) * 1e6),
    p99_us: f(percentile(sorted, 0.99) * 1e6), mean_us: f(n > 0 ? (wall / n) * 1e6 : 0), wall_s: f(wall),
    cpu_s: f((c.user + c.system) / 1e6), submit_us: f(submit * 1e6), errors, node: process.version,
  }) + "\n");
  if (httpProfile.agent) httpProfile.agent.destroy();
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack) + "\n");
  process.exit(1);
});
