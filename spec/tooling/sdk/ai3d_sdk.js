// Drives Tencent's official Node.js ai3d SDK against an endpoint, unchanged but for its HTTP
// profile: usage `node ai3d_sdk.js HOST:PORT SECRET_ID SECRET_KEY`. Prints one JSON line per step.
"use strict";
const { ai3d } = require("tencentcloud-sdk-nodejs-ai3d");
const { CommonClient } = require("tencentcloud-sdk-nodejs-common");

const [endpoint, secretId, secretKey] = process.argv.slice(2);

function client(key) {
  return new ai3d.v20250513.Client({
    credential: { secretId, secretKey: key },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 10 } },
  });
}

// The SDK's generic client, for the actions its ai3d package does not wrap yet.
function common() {
  return new CommonClient("ai3d.tencentcloudapi.com", "2025-05-13", {
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 10 } },
  });
}

function print(step, value) {
  process.stdout.write(JSON.stringify({ step, ...value }) + "\n");
}

async function error(step, promise) {
  try {
    await promise;
    print(step, { ok: true });
  } catch (e) {
    print(step, { code: e.code, message: e.message, requestId: e.requestId });
  }
}

async function main() {
  const c = client(secretKey);
  const submitted = await c.SubmitHunyuanTo3DProJob({ Prompt: "一把小木椅", FaceCount: 20000, EnablePBR: true });
  print("submit", { JobId: submitted.JobId, RequestId: submitted.RequestId });
  let status;
  for (let i = 0; i < 100; i++) {
    status = await c.QueryHunyuanTo3DProJob({ JobId: submitted.JobId });
    if (status.Status === "DONE" || status.Status === "FAIL") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  print("query", status);
  const rapid = await c.SubmitHunyuanTo3DRapidJob({ Prompt: "a teapot", ResultFormat: "STL" });
  print("rapid", { JobId: rapid.JobId });
  const cc = common();
  const converted = await cc.request("Convert3DFormat", { File3D: status.ResultFile3Ds[1].Url, Format: "FBX" });
  print("convert", converted);
  const rig = await cc.request("SubmitAutoRiggingJob", { File3D: { Type: "GLB", Url: status.ResultFile3Ds[1].Url } });
  print("rigging", rig);
  print("describe", await cc.request("DescribeAutoRiggingJob", { JobId: rig.JobId }));
  await error("invalid", c.SubmitHunyuanTo3DProJob({ Prompt: "x", GenerateType: "normal" }));
  await error("bad_key", client(secretKey + "x").QueryHunyuanTo3DProJob({ JobId: submitted.JobId }));
}

main().catch((e) => {
  print("crash", { message: String(e && e.message), code: e && e.code });
  process.exit(1);
});
