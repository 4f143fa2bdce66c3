-- The local door (a self-hosted Hunyuan3D-2 / 2.1 api_server.py, no key) against the sandbox's /selfhosted/:
-- translation, submit/query/wait/generate/download_files, both models saved, busy, 422, stuck jobs, hostile answers.
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"

local read = sandbox.read_file

local function listing(dir)
  local p = io.popen("ls -A " .. dir .. " 2>/dev/null")
  local names = {}
  for line in p:lines() do names[#names + 1] = line end
  p:close()
  table.sort(names)
  return names
end

local IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

describe("the local door (self-hosted Hunyuan3D server)", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2 }
  local client, dir

  before_each(function()
    sb:config { selfhosted = "2.1", selfhosted_busy = 0, selfhosted_stuck = false, selfhosted_answer = "ok" }
    client = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted", poll_interval = 0.02, retry_base = 0.01 }
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
  end)

  after_each(function()
    client:close()
    os.execute("rm -rf " .. dir)
  end)

  it("needs no credentials, and refuses any", function()
    assert.equal("local", client.door)
    assert.has_error(function() hy3d.new { door = "local", api_key = "sk-0123456789abcdef" } end,
      "hy3d.new: the local door takes no credentials, not an api_key")
    assert.matches("a self-hosted server, no credentials needed", tostring(client), 1, true)
    local _, err = client:call("DescribeAutoRiggingJob", {})      -- API 3.0's: the door named, with what it takes
    assert.equal("CALL_NEEDS_API3", err.code)
    assert.matches("this client uses the local door (no credentials)", err.message, 1, true)
  end)

  it("translates the PascalCase fields to the server's and refuses what it cannot express, naming the door", function()
    local job = assert(client:submit { ImageBase64 = IMAGE, FaceCount = 20000, EnablePBR = true, Seed = 7 })
    local sent = sb:requests("selfhosted")[1]
    assert.equal("send", sent.action)
    local body = require("cjson").decode(sent.body)
    assert.same({ image = IMAGE, face_count = 20000, texture = true, seed = 7 }, body)
    assert.is_string(job.JobId)
    local _, err = client:submit { ImageUrl = "https://example.com/a.png" }
    assert.equal("invalid", err.kind)
    assert.equal("FIELD_NOT_ON_DOOR", err.code)
    assert.matches("local door", err.message)
    assert.matches("ImageBase64", err.message)
    _, err = client:submit { ImageBase64 = IMAGE, ResultFormat = "STL" }
    assert.equal("FIELD_NOT_ON_DOOR", err.code)
    assert.equal("ResultFormat", err.field)
    _, err = client:submit { ImageBase64 = IMAGE, GenerateType = "LowPoly" }
    assert.equal("GenerateType", err.field)
    assert.equal(1, #sb:requests("selfhosted"))     -- nothing else was sent
  end)

  it("submits, queries and waits through processing and texturing to DONE with two model files", function()
    local job = assert(client:submit { ImageBase64 = IMAGE, EnablePBR = true })
    local q = assert(client:query(job))
    assert.equal("RUN", q.Status)
    assert.equal("processing", q.Stage)
    local stages = {}
    local done = assert(client:wait(job, { on_status = function(r) stages[#stages + 1] = r.Stage end }))
    assert.equal("DONE", done.Status)
    assert.equal("completed", stages[#stages])
    assert.equal(2, #done.ResultFile3Ds)
    assert.equal("GLB", done.ResultFile3Ds[1].Type)
    assert.equal("INITIAL_GLB", done.ResultFile3Ds[2].Type)
    assert.is_number(done.raw.model_base64)         -- its length: the model itself never reaches Lua
    local files = assert(client:download_files(done, { formats = { "all" }, dir = dir, name = "chair" }))
    assert.equal(2, #files)
    assert.equal(dir .. "/chair.glb", files[1].path)
    assert.equal(dir .. "/chair_initial_glb.glb", files[2].path)
    for _, f in ipairs(files) do
      local data = read(f.path)
      assert.equal("glTF", data:sub(1, 4))
      assert.equal(#data, f.bytes)
      local b1, b2, b3, b4 = data:byte(9, 12)
      assert.equal(#data, b1 + b2 * 256 + b3 * 65536 + b4 * 16777216)   -- the GLB header's length is the file's
    end
    assert.same({ "chair.glb", "chair_initial_glb.glb" }, listing(dir))   -- no partial or answer file left
  end)

  it("generates in one call and saves the final model", function()
    local got = assert(client:generate({ ImageBase64 = IMAGE }, { dir = dir, name = "one" }))
    assert.equal("DONE", got.result.Status)
    assert.equal(1, #got.files)
    assert.equal("glTF", read(dir .. "/one.glb"):sub(1, 4))
  end)

  it("reads the door from HY3D_DOOR-like options: no key, base_url only", function()
    local c = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted" }
    assert.is_truthy(tostring(c))
    c:close()
  end)

  it("retries a busy server (404 error_code 1) like a rate limit", function()
    sb:config { selfhosted_busy = 2 }
    local retries = 0
    local c = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted", retry_base = 0.01,
                         on_retry = function() retries = retries + 1 end }
    local job = assert(c:submit { ImageBase64 = IMAGE })
    assert.is_string(job.JobId)
    assert.equal(2, retries)
    assert.equal(3, #sb:requests("selfhosted"))
    c:close()
    sb:config { selfhosted_busy = 5 }
    c = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted", retry_base = 0.01, max_retries = 1 }
    local _, err = c:submit { ImageBase64 = IMAGE }
    assert.equal("api", err.kind)
    assert.equal("RequestLimitExceeded.ServerBusy", err.code)
    c:close()
  end)

  it("gives 2.1's FastAPI 422 as a typed invalid error naming the field", function()
    local _, err = client:submit { Prompt = "a chair" }          -- 2.1 requires image
    assert.equal("invalid", err.kind)
    assert.equal("INVALID_PARAMETER", err.code)
    assert.equal(422, err.http_status)
    assert.equal("ImageBase64", err.field)           -- the server's image, named as the caller wrote it
    _, err = client:submit { ImageBase64 = IMAGE, OctreeResolution = 8 }
    assert.equal("OctreeResolution", err.field)
    assert.matches("between 64 and 512", err.message)
  end)

  it("calls a job that keeps its status past stuck_timeout stuck (the server has no error state)", function()
    sb:config { selfhosted_stuck = true }
    local c = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted", stuck_timeout = 0.2 }
    local job = assert(c:submit { ImageBase64 = IMAGE })
    local polls = 0
    local _, err = c:wait(job, { interval = 0.05, on_status = function() polls = polls + 1 end })
    assert.equal("timeout", err.kind)
    assert.equal("STUCK_JOB", err.code)
    assert.equal(job.JobId, err.job_id)
    assert.equal(1, polls)                                         -- one status (RUN), never another
    assert.is_true(#sb:requests("selfhosted") >= 3)
    c:close()
  end)

  it("checks /health on 2.1 and says 2 has none", function()
    local h = assert(client:health())
    assert.equal("healthy", h.Status)
    sb:config { selfhosted = "2" }
    local _, err = client:health()
    assert.equal("http", err.kind)
    assert.equal(404, err.http_status)
  end)

  it("runs the 2 flavour: processing straight to completed with one model", function()
    sb:config { selfhosted = "2" }
    local got = assert(client:generate({ ImageBase64 = IMAGE, EnablePBR = true }, { dir = dir, name = "two",
                                        formats = { "all" } }))
    assert.equal(1, #got.result.ResultFile3Ds)
    assert.same({ "two.glb" }, listing(dir))
  end)

  it("generates through the synchronous /generate with sync_generate (servers without /send)", function()
    sb:config { selfhosted_busy = 1 }
    local c = hy3d.new { door = "local", base_url = sb.url .. "/selfhosted", sync_generate = true, retry_base = 0.01 }
    local got = assert(c:generate({ ImageBase64 = IMAGE }, { dir = dir, name = "sync" }))
    assert.equal("DONE", got.result.Status)
    assert.matches("^sync%-", got.job.JobId)
    local data = read(dir .. "/sync.glb")
    assert.equal("glTF", data:sub(1, 4))
    assert.equal(#data, got.files[1].bytes)
    local actions = {}
    for _, r in ipairs(sb:requests("selfhosted")) do actions[#actions + 1] = r.action end
    assert.same({ "generate", "generate" }, actions)               -- busy once, then the model; no /status
    assert.same({ "sync.glb" }, listing(dir))
    local _, err = c:submit { Prompt = "no image" }                -- 2.1's 422 on /generate too
    assert.equal("INVALID_PARAMETER", err.code)
    c:close()
  end)

  it("refuses a /send answer whose uid is no plain token (it would name another path)", function()
    sb:config { selfhosted_answer = "bad_uid" }
    local _, err = client:submit { ImageBase64 = IMAGE }
    assert.same({ "decode", "NO_JOB_ID" }, { err.kind, err.code })
  end)

  it("keeps a model larger than max_bytes out of the folder", function()
    local done = assert(client:wait(assert(client:submit { ImageBase64 = IMAGE })))
    local files, err = client:download_files(done, { dir = dir, max_bytes = 1000 })
    assert.is_nil(files)
    assert.same({ "io", "MAX_BYTES" }, { err.kind, err.code })
    assert.same({}, listing(dir))
  end)

  it("runs the same generate(prompt) as every door on the 2 flavour, which takes a text", function()
    sb:config { selfhosted = "2" }
    local got = assert(client:generate("a wooden chair", { dir = dir, name = "chair" }))
    assert.equal("glTF", read(dir .. "/chair.glb"):sub(1, 4))
    assert.equal("DONE", got.result.Status)
  end)

  for _, case in ipairs {
    { answer = "bad_base64", kind = "decode", code = "BAD_BASE64", at = "download" },
    { answer = "not_glb", kind = "decode", code = "NOT_GLB", at = "download" },
    { answer = "missing", kind = "decode", code = "NO_MODEL", at = "wait" },
    { answer = "huge", kind = "decode", code = "RESPONSE_TOO_LARGE", at = "wait" },
    { answer = "truncated", kind = "decode", code = "INVALID_JSON", at = "wait" },
  } do
    it("gives a hostile completed answer (" .. case.answer .. ") as a typed error and leaves no file", function()
      sb:config { selfhosted_answer = case.answer }
      local got, err = client:generate({ ImageBase64 = IMAGE }, { dir = dir, name = "bad" })
      assert.is_nil(got)
      assert.equal(case.kind, err.kind)
      assert.equal(case.code, err.code)
      assert.is_string(err.job_id)
      assert.same({}, listing(dir))
    end)
  end
end)
