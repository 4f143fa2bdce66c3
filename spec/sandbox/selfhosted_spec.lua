-- hy3d.sandbox.selfhosted: the emulated self-hosted Hunyuan3D-2 / 2.1 api_server.py under /selfhosted/,
-- seen over raw HTTP: /send, /status phases on the job clock, /generate, /health, 422, busy, stuck.
local cjson = require "cjson"
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local IMAGE = core.base64_encode("not really a picture, but the server never looks")

describe("hy3d-sandbox's self-hosted server", function()
  local sb = sandbox.suite { wait_time = 1, run_time = 2 }

  local function post(path, t)
    local body = cjson.encode(t)
    return sb:raw("POST", "/selfhosted" .. path, { ["Content-Type"] = "application/json",
                                                   ["Content-Length"] = #body }, body)
  end
  local function status(uid)
    local code, body = sb:raw("GET", "/selfhosted/status/" .. uid)
    assert.equal(200, code)
    return body
  end

  before_each(function()
    sb:config { selfhosted = "2.1", selfhosted_busy = 0, selfhosted_stuck = false, selfhosted_answer = "ok" }
  end)

  it("2.1: processing, texturing, completed with the final and the untextured GLB, on the job clock", function()
    sb:freeze()
    local code, body = post("/send", { image = IMAGE, texture = true })
    assert.equal(200, code)
    local uid = body.uid
    assert.matches("^[%x%-]+$", uid)
    assert.same({ status = "processing" }, status(uid))
    sb:advance(2.1)
    assert.same({ status = "texturing" }, status(uid))
    sb:advance(1)
    local done = status(uid)
    assert.equal("completed", done.status)
    assert.equal("glTF", core.base64_decode(done.model_base64):sub(1, 4))
    assert.equal("glTF", core.base64_decode(done.model_base64_initial):sub(1, 4))
    assert.is_true(#done.model_base64 > #done.model_base64_initial)   -- the textured one carries a texture
    assert.same({ status = "processing" }, status("no-such-uid"))
  end)

  it("2.1 validates like FastAPI (422) and has /health; 2 takes anything and has none", function()
    local code, body = post("/send", { text = "a chair" })
    assert.equal(422, code)
    assert.same({ "body", "image" }, body.detail[1].loc)
    code, body = post("/send", { image = IMAGE, num_inference_steps = 50 })
    assert.equal(422, code)
    assert.same({ "body", "num_inference_steps" }, body.detail[1].loc)
    code, body = sb:raw("GET", "/selfhosted/health")
    assert.same({ 200, "healthy" }, { code, body.status })
    sb:config { selfhosted = "2" }
    code = post("/send", { text = "a chair", num_inference_steps = 50 })
    assert.equal(200, code)
    code = sb:raw("GET", "/selfhosted/health")
    assert.equal(404, code)
  end)

  it("answers busy (404 error_code 1) the configured number of times, and /generate with GLB bytes", function()
    sb:config { selfhosted_busy = 1 }
    local code, body = post("/generate", { image = IMAGE })
    assert.same({ 404, 1 }, { code, body.error_code })
    code, body = post("/generate", { image = IMAGE })
    assert.equal(200, code)
    assert.equal("glTF", body:sub(1, 4))
  end)

  it("keeps a stuck job processing forever", function()
    sb:config { selfhosted_stuck = true }
    sb:freeze()
    local _, body = post("/send", { image = IMAGE })
    sb:advance(3600)
    assert.same({ status = "processing" }, status(body.uid))
    assert.equal("status", sb:requests("selfhosted")[2].action)
  end)
end)
