-- Interop: Tencent's official Node.js SDK (tencentcloud-sdk-nodejs-ai3d, pinned in spec/tooling/sdk/)
-- talks to hy3d-sandbox's API 3.0 door unchanged but for its HTTP profile (endpoint, http://).
local cjson = require "cjson"
local sandbox = require "spec.support.sandbox"

local MODULES = (os.getenv("PWD") or ".") .. "/build/sdk/node_modules"

-- Why Node.js or the SDK cannot be used here, or nil.
local function missing()
  local ok, out = sandbox.run("node --version")
  if not ok then return "Node.js is missing (make deps-test installs nodejs and npm): " .. out end
  if not sandbox.read_file(MODULES .. "/tencentcloud-sdk-nodejs-ai3d/package.json") then
    return "the SDK is missing from build/sdk/node_modules (make deps-sdk; it needs the npm registry once)"
  end
end

describe("the official Node.js SDK against hy3d-sandbox", function()
  -- Part of every run: a machine without Node.js or the SDK fails here, it is not skipped; only an
  -- offline run (make test OFFLINE=1, what `luarocks test` runs) reports it pending with the reason.
  local why = os.getenv("HY3D_OFFLINE") == "1" and missing()
  if why then
    pending("offline run: " .. why)
    return
  end

  it("has Node.js and the pinned SDK (make deps-test installs nodejs and npm, make deps-sdk the SDK)", function()
    local ok, out = sandbox.run("node --version")
    assert.is_true(ok, "Node.js is missing (make deps-test installs nodejs and npm): " .. out)
    local manifest = sandbox.read_file(MODULES .. "/tencentcloud-sdk-nodejs-ai3d/package.json")
    assert.is_string(manifest, "the SDK is missing from build/sdk/node_modules (make deps-sdk)")
  end)

  it("submits, polls, converts, rigs and gets the service's errors", function()
    local sb = sandbox.start { wait_time = 0.1, run_time = 0.2 }
    -- Node.js runs without LD_PRELOAD: under `make test-asan` the sanitizer runtimes are preloaded
    -- into every child for hy3d's core, and node is not hy3d's code
    local ok, out = sandbox.run(("env -u LD_PRELOAD NODE_PATH=%s node spec/tooling/sdk/ai3d_sdk.js %s %s %s"):format(
      sandbox.shell_quote(MODULES), sb.url:match("^http://(.*)$"), sandbox.secret_id, sandbox.secret_key))
    sb:stop()
    assert.is_true(ok, out)
    local steps = {}
    for line in out:gmatch("[^\n]+") do
      local s = cjson.decode(line)
      steps[s.step] = s
    end
    assert.matches("^%d+$", steps.submit.JobId)
    assert.equal("DONE", steps.query.Status)
    assert.equal(40, steps.query.ResultCreditConsumed)
    assert.equal("GLB", steps.query.ResultFile3Ds[2].Type)
    assert.matches("^%d+$", steps.rapid.JobId)
    assert.matches("/model%.fbx%?", steps.convert.ResultFile3D)
    assert.matches("^%d+$", steps.rigging.JobId)
    assert.is_string(steps.describe.Status)
    assert.equal("InvalidParameter", steps.invalid.code)
    assert.equal("【GenerateType】仅支持Normal,LowPoly,Geometry,Sketch", steps.invalid.message)
    assert.equal("AuthFailure.SignatureFailure", steps.bad_key.code)
    assert.is_nil(out:find(sandbox.secret_key, 1, true))
  end)
end)
