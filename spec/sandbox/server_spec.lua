-- hy3d-sandbox (hy3d.sandbox): the server — both doors on one job store, lifecycle, limits, expiry,
-- result files, credits, inspection, the request log, the command line and keep-alive connections.
-- Parameter rules are in sandbox/actions_spec, signatures in sandbox/tc3_spec, faults in sandbox/faults_spec.
local cjson = require "cjson"
local socket = require "socket"
local sandbox = require "spec.support.sandbox"

-- Reads one HTTP/1.1 response (Content-Length framed) from a blocking luasocket connection.
local function read_response(sock)
  local status = assert(sock:receive("*l"))
  local headers = {}
  while true do
    local line = assert(sock:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    headers[k:lower()] = v
  end
  local body = ""
  local n = tonumber(headers["content-length"] or "0")
  if n > 0 then body = assert(sock:receive(n)) end
  return tonumber(status:match("^HTTP/1%.1 (%d+)")), headers, body
end

-- How a read of one byte on a connection ends: "closed" once the server has closed it (a reset
-- counts), "timeout" while it is open and silent, "data" when bytes came.
local function read_end(c)
  local data, err = c:receive(1)
  if data then return "data" end
  return err == "connection reset by peer" and "closed" or err
end

local function request_bytes(path, key, body)
  return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
    .. "Content-Length: %d\r\n\r\n%s"):format(path, key, #body, body)
end

describe("hy3d-sandbox", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0.2 }

  local function submit(params, headers)
    local h = { ["Content-Type"] = "application/json", Authorization = sb.key }
    for k, v in pairs(headers or {}) do h[k] = v end
    local body = type(params) == "string" and params or cjson.encode(params)
    h["Content-Length"] = #body
    return sb:raw("POST", "/v1/ai3d/submit", h, body)
  end

  local function api_error_code(params)
    local status, body = submit(params)
    assert.equal(200, status)
    return body.Response.Error and body.Response.Error.Code, body.Response.Error and body.Response.Error.Message
  end

  describe("command line", function()
    it("prints usage with --help and refuses unknown arguments", function()
      local ok, out = sandbox.run(sandbox.lua_env() .. " " .. sandbox.lua() .. " sandbox/bin/hy3d-sandbox --help")
      assert.is_true(ok)
      assert.matches("usage: hy3d%-sandbox", out)
      local bad, out2, code = sandbox.run(sandbox.lua_env() .. " " .. sandbox.lua() .. " sandbox/bin/hy3d-sandbox --bogus")
      assert.is_false(bad)
      assert.equal(2, code)
      assert.matches("unknown argument %-%-bogus", out2)
      for _, flag in ipairs { "--secret-id", "--wait-s", "--run-s", "--fault", "--seed", "--log", "--concurrency",
                               "--max-connections", "--header-timeout" } do
        assert.matches(flag:gsub("%-", "%%-"), out)
      end
    end)

    it("runs in-process from Lua, driven by step()", function()
      local sb2 = require("hy3d.sandbox").new { wait_time = 0, run_time = 0, keys = { "sk-in-process" } }
      local url = assert(sb2:listen())
      local c = assert(socket.connect("127.0.0.1", tonumber(url:match(":(%d+)$"))))
      c:settimeout(0)
      assert(c:send(request_bytes("/v1/ai3d/submit", "sk-in-process", '{"Prompt":"x"}')))
      local got = ""
      for _ = 1, 100 do
        sb2:step(0.01)
        local data, _, partial = c:receive(4096)
        got = got .. (data or partial or "")
        if got:find("JobId", 1, true) then break end
      end
      c:close()
      sb2:close()
      assert.matches('"JobId":"%d+"', got)
    end)

    it("parses its options and environment", function()
      local parse = require("hy3d.sandbox").parse_args
      local env = {}
      local getenv = function(k) return env[k] end
      local cfg = assert(parse({ "--wait-s", "0.5", "--run-s", "2", "--concurrency", "rapid=2", "--secret-id", "A",
        "--secret-key", "B", "--region", "*", "--rate-limit", "0", "--result-format", "replace", "--gateway-credits" }, getenv))
      assert.equal(0.5, cfg.wait_time)
      assert.equal(2, cfg.run_time)
      assert.same({ pro = 3, rapid = 2, default = 1 }, cfg.concurrency)
      assert.same({ A = "B" }, cfg.secrets)
      assert.same({ "*" }, cfg.regions)
      assert.equal("replace", cfg.result_format)
      assert.is_true(cfg.gateway_credits)
      assert.same({ pro = 4, default = 1 }, parse({ "--concurrency", "4" }, getenv).concurrency)
      assert.is_nil(parse({ "--secret-id", "A" }, getenv))
      assert.is_nil(parse({ "--concurrency", "wizard=2" }, getenv))
      assert.is_nil(parse({ "--envelope", "boxed" }, getenv))
      assert.is_nil(parse({ "--wait-s" }, getenv))
      assert.equal(2.5, parse({ "--header-timeout", "2.5" }, getenv).header_timeout)
      assert.error_matches(function() require("hy3d.sandbox").new { header_timeout = 0 } end, "header_timeout")
      env = { HY3D_SANDBOX_KEYS = "sk-1,sk-2", HY3D_SANDBOX_SECRET_ID = "X", HY3D_SANDBOX_SECRET_KEY = "Y",
              HY3D_SANDBOX_FAULTS = "query:close" }
      cfg = assert(parse({ "--key", "sk-3" }, getenv))
      assert.same({ "sk-1", "sk-2", "sk-3" }, cfg.keys)
      assert.same({ X = "Y" }, cfg.secrets)
      assert.equal("close", cfg.faults[1].action)
    end)
  end)

  describe("compatible gateway", function()
    it("accepts the raw key and the Bearer form, and answers in the Response envelope", function()
      local status, body = submit({ Prompt = "小狗" })
      assert.equal(200, status)
      assert.matches("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d%d$", body.Response.JobId)
      assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", body.Response.RequestId)
      status = submit({ Prompt = "小狗" }, { Authorization = "Bearer " .. sb.key })
      assert.equal(200, status)
    end)

    it("answers a wrong or missing key with HTTP 401 and an OpenAI-style body", function()
      local status, body = submit({ Prompt = "x" }, { Authorization = "sk-nope" })
      assert.equal(401, status)
      assert.equal("invalid_api_key", body.error.code)
      assert.equal("Incorrect API key provided", body.error.message)
      status = sb:raw("POST", "/v1/ai3d/submit", { ["Content-Type"] = "application/json", ["Content-Length"] = 2 }, "{}")
      assert.equal(401, status)
    end)

    it("refuses other methods and content types", function()
      assert.equal(405, (sb:raw("GET", "/v1/ai3d/submit", { Authorization = sb.key })))
      local status, body = submit('{"Prompt":"x"}', { ["Content-Type"] = "text/plain" })
      assert.equal(200, status)
      assert.equal("InvalidParameter", body.Response.Error.Code)
      status, body = submit("not json")
      assert.equal(200, status)
      assert.equal("InvalidParameter", body.Response.Error.Code)
    end)

    it("requires a JobId on query and reports unknown ones", function()
      local h = { ["Content-Type"] = "application/json", Authorization = sb.key, ["Content-Length"] = 2 }
      local _, body = sb:raw("POST", "/v1/ai3d/query", h, "{}")
      assert.equal("MissingParameter", body.Response.Error.Code)
      local q = '{"JobId":"1"}'
      h["Content-Length"] = #q
      _, body = sb:raw("POST", "/v1/ai3d/query", h, q)
      assert.equal("FailedOperation.JobNotFound", body.Response.Error.Code)
      assert.is_string(body.Response.RequestId)
    end)

    it("rejects submits beyond the account's concurrency", function()
      sb:config { run_time = 30, concurrency = 2 }
      assert.is_nil(api_error_code { Prompt = "1" })
      assert.is_nil(api_error_code { Prompt = "2" })
      local code, msg = api_error_code { Prompt = "3" }
      assert.equal("RequestLimitExceeded.JobNumExceed", code)
      assert.equal("当前已达到2个任务上限，请稍后重试", msg)
      assert.equal(2, sb:stats().jobs_running)
      sb:config { run_time = 0.2, concurrency = 3 }
    end)
  end)

  describe("one job store behind both doors", function()
    it("lets the API 3.0 door query a gateway job and the gateway query an API 3.0 job", function()
      local _, g = submit { Prompt = "a lamp" }
      local _, a = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "a lamp" })
      local _, q = sb:api("QueryHunyuanTo3DProJob", { JobId = g.Response.JobId })
      assert.is_string(q.Response.Status)
      local body = cjson.encode { JobId = a.Response.JobId }
      local _, gq = sb:raw("POST", "/v1/ai3d/query",
        { Authorization = sb.key, ["Content-Type"] = "application/json", ["Content-Length"] = #body }, body)
      assert.is_string(gq.Response.Status)
      assert.equal(2, sb:stats().jobs_created)
    end)

    it("goes WAIT -> RUN -> DONE on the configured timings", function()
      -- on the frozen job clock, in steps of exactly representable seconds: each phase ends at
      -- the very instant its time is up, not a moment later
      sb:config { wait_time = 0.25, run_time = 0.5 }
      sb:freeze()
      local _, a = sb:api("SubmitHunyuanTo3DRapidJob", { Prompt = "x" })
      local function status()
        local _, q = sb:api("QueryHunyuanTo3DRapidJob", { JobId = a.Response.JobId })
        return q.Response.Status
      end
      local seen = { status() }
      for _ = 1, 3 do
        sb:advance(0.25)
        seen[#seen + 1] = status()
      end
      assert.same({ "WAIT", "RUN", "RUN", "DONE" }, seen)
      sb:config { wait_time = 0, run_time = 0.2 }
    end)
  end)

  describe("the job clock (/_sandbox/clock)", function()
    it("stands still while frozen, moves on by what advance says, runs again from there, resets to real time", function()
      sb:config { run_time = 3600 }
      local frozen = sb:freeze()
      assert.is_true(frozen.frozen)
      local function submit_rapid() return select(2, sb:api("SubmitHunyuanTo3DRapidJob", { Prompt = "x" })).Response.JobId end
      local function status(id)
        local _, q = sb:api("QueryHunyuanTo3DRapidJob", { JobId = id })
        return q.Response.Status
      end
      local a = submit_rapid()
      assert.equal(frozen.now, sb:clock().now)          -- a frozen clock does not move
      sb:advance(3599.75)
      assert.equal("RUN", status(a))
      sb:advance(0.25)
      assert.equal("DONE", status(a))
      assert.is_false(sb:clock { freeze = false }.frozen)
      assert.equal("DONE", status(a))                   -- running again from where it stood, not from real time
      sb:reset()                                        -- real time again
      local real = sb:clock()
      assert.same({ 0, false }, { real.ahead, real.frozen })
      local b = submit_rapid()
      assert.equal("RUN", status(b))
      assert.equal(3600, sb:advance(3600).ahead)        -- a running clock is moved on too
      assert.equal("DONE", status(b))
      sb:freeze()
      assert.equal("DONE", status(b))                   -- frozen where it stood, not at real time
      sb:config { run_time = 0.2 }
    end)

    it("refuses what it does not know, changing nothing", function()
      local before = sb:freeze().now
      for _, body in ipairs { '{"advance":-1}', '{"advance":1e999}', '{"advance":"1"}', '{"freeze":"yes"}', '{"speed":2}' } do
        local status, answer = sb:raw("POST", "/_sandbox/clock",
          { ["Content-Type"] = "application/json", ["Content-Length"] = #body }, body)
        assert.equal(400, status, body)
        assert.equal("bad_clock", answer.error.code, body)
      end
      assert.equal(before, sb:clock().now)
    end)
  end)

  describe("limits", function()
    it("holds one slot per family by default and three for Pro, each family apart", function()
      sb:config { run_time = 30, concurrency = { pro = 3, default = 1 } }
      local function code_of(action, params)
        local _, b = sb:api(action, params)
        return b.Response.Error and b.Response.Error.Code
      end
      for i = 1, 3 do assert.is_nil(code_of("SubmitHunyuanTo3DProJob", { Prompt = tostring(i) })) end
      assert.equal("RequestLimitExceeded.JobNumExceed", code_of("SubmitHunyuanTo3DProJob", { Prompt = "4" }))
      assert.is_nil(code_of("SubmitHunyuanTo3DRapidJob", { Prompt = "r1" }))
      local code = code_of("SubmitHunyuanTo3DRapidJob", { Prompt = "r2" })
      assert.equal("RequestLimitExceeded.JobNumExceed", code)
      assert.is_nil(code_of("SubmitHunyuanTo3DMotionJob", { Prompt = "walk" }))
      local st = sb:stats()
      assert.equal(5, st.jobs_running)
      assert.same({ pro = 3, rapid = 1, motion = 1 }, st.jobs_by_family)
      sb:config { run_time = 0.2, concurrency = { pro = 0, default = 0 } }
    end)

    it("keeps a slot for the cool-down after a job finishes", function()
      sb:config { run_time = 0.25, slot_cooldown = 0.5, concurrency = { rigging = 1, pro = 0 } }
      sb:freeze()
      local _, m = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "m" })
      sb:advance(0.25)
      local _, q = sb:api("QueryHunyuanTo3DProJob", { JobId = m.Response.JobId })
      local url = q.Response.ResultFile3Ds[1].Url
      local params = { File3D = { Type = "FBX", Url = url } }
      local _, a = sb:api("SubmitAutoRiggingJob", params)
      assert.is_nil(a.Response.Error)
      sb:advance(0.25)
      local _, qa = sb:api("DescribeAutoRiggingJob", { JobId = a.Response.JobId })
      assert.equal("DONE", qa.Response.Status)
      for _ = 1, 2 do                                   -- DONE, but still cooling down, to its last instant
        local _, b = sb:api("SubmitAutoRiggingJob", params)
        assert.equal("RequestLimitExceeded.JobNumExceed", b.Response.Error.Code)
        sb:advance(0.25)
      end
      local _, c = sb:api("SubmitAutoRiggingJob", params) -- the cool-down is over
      assert.is_nil(c.Response.Error)
      sb:config { run_time = 0.2, slot_cooldown = 0, concurrency = { pro = 0, default = 0 } }
    end)

    it("answers RequestLimitExceeded beyond the per-action request rate", function()
      sb:config { rate_limit = 5 }
      sb:freeze()                                       -- one second of the job clock for the whole burst
      local function code()
        local _, b = sb:api("QueryHunyuanTo3DProJob", { JobId = "1" })
        return b.Response.Error.Code
      end
      local codes = {}
      for i = 1, 8 do codes[i] = code() end
      assert.same({ "FailedOperation.JobNotFound", "FailedOperation.JobNotFound", "FailedOperation.JobNotFound",
                    "FailedOperation.JobNotFound", "FailedOperation.JobNotFound", "RequestLimitExceeded",
                    "RequestLimitExceeded", "RequestLimitExceeded" }, codes)
      assert.equal(3, sb:stats().rate_limited)
      sb:advance(1)                                     -- the next second has a budget again
      assert.equal("FailedOperation.JobNotFound", code())
      -- other actions have their own budget
      sb:config { rate_limit = 1 }
      local _, b = sb:api("DescribeAutoRiggingJob", { JobId = "1" })
      assert.equal("FailedOperation.JobNotFound", b.Response.Error.Code)
      sb:config { rate_limit = 0 }
    end)
  end)

  describe("expiry", function()
    it("forgets JobIds after job_ttl, with the configured code", function()
      sb:freeze()
      local _, a = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" })
      sb:config { job_ttl = 0.5 }
      local function query() return select(2, sb:api("QueryHunyuanTo3DProJob", { JobId = a.Response.JobId })) end
      sb:advance(0.5)
      assert.is_nil(query().Response.Error)              -- queryable to the end of its time to live
      sb:advance(0.25)
      local q = query()
      assert.equal("FailedOperation.JobNotFound", q.Response.Error.Code)
      sb:config { expired_code = "ResourceNotFound" }
      _, q = sb:api("QueryHunyuanTo3DProJob", { JobId = a.Response.JobId })
      assert.equal("ResourceNotFound", q.Response.Error.Code)
      sb:config { job_ttl = 86400, expired_code = "FailedOperation.JobNotFound" }
    end)

    it("answers an expired file URL with 403 like object storage", function()
      sb:config { url_ttl = 1 }
      sb:freeze()
      local _, a = sb:api("SubmitHunyuanTo3DProJob", { Prompt = "x" })
      sb:advance(0.25)
      local _, q = sb:api("QueryHunyuanTo3DProJob", { JobId = a.Response.JobId })
      local path = q.Response.ResultFile3Ds[2].Url:match("^http://[^/]+(/.*)$")
      local start, stop = path:match("q%-sign%-time=(%d+)%%3B(%d+)")
      assert.equal(1, tonumber(stop) - tonumber(start))
      assert.equal(200, (sb:raw("GET", path)))
      sb:advance(1.25)                                  -- past the window's end, whatever second it began in
      local status, body = sb:raw("GET", path)
      assert.equal(403, status)
      assert.matches("<Code>AccessDenied</Code>", body)
      sb:config { url_ttl = 86399 }
    end)
  end)

  describe("results", function()
    local function finished(action, query, params)
      local _, a = sb:api(action, params)
      assert.is_nil(a.Response.Error, a.Response.Error and a.Response.Error.Message)
      sb:advance(0.25)                                  -- past WAIT 0 + RUN 0.2 on the job clock
      local _, q = sb:api(query, { JobId = a.Response.JobId })
      assert.equal("DONE", q.Response.Status)
      return q.Response
    end

    local function types(r)
      local t = {}
      for i, f in ipairs(r.ResultFile3Ds) do t[i] = f.Type end
      return table.concat(t, ",")
    end

    it("returns each family's file set, every URL served", function()
      local pro = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob", { Prompt = "x", ResultFormat = "USDZ" })
      assert.equal("OBJ,GLB,USDZ", types(pro))
      local model = pro.ResultFile3Ds[2].Url
      local cases = {
        { "SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x" }, "OBJ" },
        { "SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x", EnableGeometry = true }, "GLB" },
        { "SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x", ResultFormat = "MP4" }, "MP4" },
        { "SubmitHunyuan3DPartJob", "QueryHunyuan3DPartJob", { File = { Type = "FBX", Url = model } }, "OBJ,FBX,IMAGE" },
        { "SubmitHunyuanTo3DUVJob", "DescribeHunyuanTo3DUVJob", { File = { Type = "GLB", Url = model } }, "OBJ,FBX,IMAGE" },
        { "SubmitReduceFaceJob", "DescribeReduceFaceJob", { File3D = { Type = "GLB", Url = model } }, "OBJ,GLB,IMAGE" },
        { "SubmitTextureTo3DJob", "DescribeTextureTo3DJob", { File3D = { Type = "GLB", Url = model }, Prompt = "wood" },
          "TEXTURE_IMAGE,MTL,ZIP,OBJ,GLB,IMAGE" },
        { "SubmitProfileTo3DJob", "DescribeProfileTo3DJob",
          { Profile = { Url = "https://e.com/me.jpg" }, Template = "guitar" }, "POSTPROCESS_OBJ,OBJ,IMAGE,MTL,FBX" },
        { "SubmitHunyuanTo3DMotionJob", "DescribeHunyuanTo3DMotionJob", { Prompt = "walk" }, "FBX" },
        { "SubmitAutoRiggingJob", "DescribeAutoRiggingJob", { File3D = { Type = "GLB", Url = model } }, "FBX" },
      }
      for _, c in ipairs(cases) do
        local r = finished(c[1], c[2], c[3])
        assert.equal(c[4], types(r), c[1])
        for _, f in ipairs(r.ResultFile3Ds) do
          local path = f.Url:match("^http://[^/]+(/.*)$")
          local status, _, headers = sb:raw("HEAD", path)
          assert.equal(200, status, f.Url)
          assert.is_true(tonumber(headers["content-length"]) > 0)
        end
        if c[1] == "SubmitHunyuan3DPartJob" then
          local status, info = sb:raw("GET", r.PartSegmentationInfoUrl:match("^http://[^/]+(/.*)$"))
          assert.equal(200, status)
          assert.is_table(info.MeshName_part_1)
        end
      end
      assert.is_nil(finished("SubmitHunyuanTo3DRapidJob", "QueryHunyuanTo3DRapidJob", { Prompt = "x" }).ResultCreditConsumed)
    end)

    it("computes credits from the billing table", function()
      local r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob",
        { Prompt = "x", FaceCount = 50000, EnablePBR = true })
      assert.equal(40, r.ResultCreditConsumed)
      assert.same({ FaceCount = 10, ["GenerateType-Normal"] = 20, Pbr = 10 }, cjson.decode(r.ResultCreditDetails))
      r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob",
        { ImageUrl = "https://e.com/f.png", GenerateType = "Geometry", EnablePBR = true, ResultFormat = "STL",
          MultiViewImages = { { ViewType = "left", ViewImageUrl = "https://e.com/l.png" } } })
      assert.equal(15 + 10 + 5, r.ResultCreditConsumed)
      assert.same({ ["GenerateType-Geometry"] = 15, MultiViewImages = 10, ResultFormat = 5 }, cjson.decode(r.ResultCreditDetails))
      r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob",
        { Prompt = "x", GenerateType = "LowPoly", FaceCount = 5000 })
      assert.equal(25, r.ResultCreditConsumed)
      assert.is_true(sb:stats().credits_consumed >= 40 + 30 + 25)
    end)

    it("omits credits on the gateway unless asked", function()
      local _, g = submit { Prompt = "x" }
      sb:advance(0.25)
      local body = cjson.encode { JobId = g.Response.JobId }
      local h = { Authorization = sb.key, ["Content-Type"] = "application/json", ["Content-Length"] = #body }
      local _, q = sb:raw("POST", "/v1/ai3d/query", h, body)
      assert.is_nil(q.Response.ResultCreditConsumed)
      sb:config { gateway_credits = true }
      _, q = sb:raw("POST", "/v1/ai3d/query", h, body)
      assert.equal(20, q.Response.ResultCreditConsumed)
      sb:config { gateway_credits = false }
    end)

    it("serves a valid GLB, a readable OBJ zip and real PNG previews", function()
      local r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob", { Prompt = "a round ball", FaceCount = 20000 })
      local get = function(url) return (assert(require("socket.http").request(url))) end
      local glb = get(r.ResultFile3Ds[2].Url)
      local magic, version, length = string.unpack("<c4I4I4", glb)
      assert.equal("glTF", magic)
      assert.equal(2, version)
      assert.equal(#glb, length)
      local jlen, jtype = string.unpack("<I4c4", glb, 13)
      assert.equal("JSON", jtype)
      local gltf = cjson.decode(glb:sub(21, 20 + jlen))
      assert.equal("2.0", gltf.asset.version)
      local indices = gltf.accessors[gltf.meshes[1].primitives[1].indices + 1]
      local triangles = indices.count / 3
      assert.is_true(triangles > 15000 and triangles < 25000, "triangles " .. triangles)
      local blen, btype = string.unpack("<I4c4", glb, 21 + jlen)
      assert.equal("BIN\0", btype)
      assert.equal(#glb, 20 + jlen + 8 + blen)
      local zip = os.tmpname()
      local f = assert(io.open(zip, "wb"))
      f:write(get(r.ResultFile3Ds[1].Url))
      f:close()
      local ok, listing = sandbox.run("unzip -l " .. zip .. " && unzip -tq " .. zip)
      os.remove(zip)
      assert.is_true(ok, listing)
      assert.matches("%.obj", listing)
      assert.matches("%.mtl", listing)
      local png = get(r.ResultFile3Ds[1].PreviewImageUrl)
      assert.equal("\137PNG\r\n\26\n", png:sub(1, 8))
      assert.equal("IHDR", png:sub(13, 16))
      local w, h = string.unpack(">I4I4", png, 17)
      assert.is_true(w > 0 and h > 0)
    end)

    it("makes the mesh from the prompt: same prompt, same model; another prompt, another model", function()
      local function glb_of(prompt)
        local r = finished("SubmitHunyuanTo3DProJob", "QueryHunyuanTo3DProJob", { Prompt = prompt })
        return (assert(require("socket.http").request(r.ResultFile3Ds[2].Url)))
      end
      local a, b, c = glb_of("a wooden chair"), glb_of("a wooden chair"), glb_of("a glass sphere")
      assert.equal(a, b)
      assert.are_not.equal(a, c)
    end)
  end)

  describe("inspection", function()
    it("reports connections, requests per route and action, jobs and faults", function()
      submit { Prompt = "x" }
      sb:api("QueryHunyuanTo3DProJob", { JobId = "1" })
      sb:fault { route = "files", action = "close" }
      local st = sb:stats()
      assert.equal(1, st.requests.submit)
      assert.equal(1, st.requests.QueryHunyuanTo3DProJob)
      assert.equal(1, st.jobs_created)
      assert.equal(1, st.jobs.WAIT + st.jobs.RUN + st.jobs.DONE)
      assert.equal(1, st.faults_pending)
      assert.is_number(st.connections_open)
      assert.is_number(st.requests_served)
    end)

    it("writes a JSON-lines request log with keys and signatures redacted", function()
      local log = os.tmpname()
      local other = sandbox.start { extra = { "--log", log } }
      local body = '{"Prompt":"x"}'
      other:raw("POST", "/v1/ai3d/submit", { Authorization = "Bearer " .. other.key, ["Content-Type"] = "application/json",
        ["Content-Length"] = #body }, body)
      other:api("QueryHunyuanTo3DProJob", { JobId = "1" }, { headers = { ["X-TC-Token"] = "sts-token-secret" } })
      other:stop()
      local text = sandbox.read_file(log)
      os.remove(log)
      local lines = {}
      for line in text:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(line) end
      assert.equal(2, #lines)
      assert.equal("submit", lines[1].route)
      assert.equal("bearer", lines[1].auth)
      assert.equal(200, lines[1].status)
      assert.equal("QueryHunyuanTo3DProJob", lines[2].action)
      assert.equal("FailedOperation.JobNotFound", lines[2].code)
      assert.equal(sandbox.secret_id, lines[2].secret_id)
      assert.is_nil(text:find(other.key, 1, true))
      assert.is_nil(text:find(sandbox.secret_key, 1, true))
      assert.is_nil(text:find("sts-token-secret", 1, true))
      assert.is_nil(text:find("Signature=", 1, true))
    end)
  end)

  describe("result files", function()
    local function done_job(params)
      local _, body = submit(params)
      local id = body.Response.JobId
      sb:advance(0.25)
      local h = { ["Content-Type"] = "application/json", Authorization = sb.key }
      local q = cjson.encode { JobId = id }
      h["Content-Length"] = #q
      local _, r = sb:raw("POST", "/v1/ai3d/query", h, q)
      assert.equal("DONE", r.Response.Status)
      return r.Response
    end

    it("returns OBJ and GLB by default, GLB alone for Geometry, and STL when asked", function()
      local r = done_job { Prompt = "x" }
      assert.equal("OBJ", r.ResultFile3Ds[1].Type)
      assert.equal("GLB", r.ResultFile3Ds[2].Type)
      r = done_job { Prompt = "x", GenerateType = "Geometry" }
      assert.equal(1, #r.ResultFile3Ds)
      assert.equal("GLB", r.ResultFile3Ds[1].Type)
      r = done_job { Prompt = "x", ResultFormat = "STL" }
      local stl = r.ResultFile3Ds[3]
      assert.equal("STL", stl.Type)
      local data = assert(require("socket.http").request(stl.Url))
      local triangles = string.unpack("<I4", data, 81)
      assert.equal(84 + 50 * triangles, #data)
    end)

    it("serves HEAD with the length and no body", function()
      local r = done_job { Prompt = "x" }
      local path = r.ResultFile3Ds[2].Url:match("^http://[^/]+(/.*)$")
      local full = assert(require("socket.http").request(r.ResultFile3Ds[2].Url))
      local status, body, headers = sb:raw("HEAD", path)
      assert.equal(200, status)
      assert.equal(tostring(#full), headers["content-length"])
      assert.equal("", body)
      assert.equal("model/gltf-binary", headers["content-type"])
    end)
  end)

  describe("connections", function()
    it("keeps thousands of jobs on one keep-alive connection", function()
      sb:config { concurrency = { pro = 0, default = 0 } }
      local c = assert(socket.connect("127.0.0.1", tonumber(sb.url:match(":(%d+)$"))))
      c:settimeout(10)
      local first
      for i = 1, 2000 do
        assert(c:send(request_bytes("/v1/ai3d/submit", sb.key, '{"Prompt":"chair ' .. (i % 7) .. '"}')))
        local status, _, body = read_response(c)
        assert.equal(200, status)
        first = first or cjson.decode(body).Response.JobId
      end
      assert(c:send(request_bytes("/v1/ai3d/query", sb.key, '{"JobId":"' .. first .. '"}')))
      local _, _, body = read_response(c)
      c:close()
      assert.is_string(cjson.decode(body).Response.Status)
      local st = sb:stats()
      assert.equal(2000, st.jobs_created)
      assert.equal(2000 + 1, st.requests.submit + st.requests.query)
      sb:config { concurrency = { pro = 3, default = 1 } }
    end)


    it("makes room past max_connections by closing the connection idle the longest", function()
      local small = sandbox.start { extra = { "--max-connections", "3" } }
      local port = tonumber(small.url:match(":(%d+)$"))
      local function query(c, id)
        assert(c:send(request_bytes("/v1/ai3d/query", small.key, '{"JobId":"' .. id .. '"}')))
        local status = read_response(c)
        return status
      end
      local conns = {}
      for i = 1, 3 do                                -- three keep-alive connections, each idle after a query
        conns[i] = assert(socket.connect("127.0.0.1", port))
        conns[i]:settimeout(20)
        assert.equal(200, query(conns[i], i))        -- conns[1] is the one idle the longest
      end
      local fourth = assert(socket.connect("127.0.0.1", port))
      fourth:settimeout(20)
      assert.equal(200, query(fourth, 4))            -- served: the server made room
      assert.equal("closed", read_end(conns[1]))   -- by closing the oldest idle connection
      assert.equal(200, query(conns[3], 5))          -- the others still work
      local st = small:stats()                       -- this call's connection evicts conns[2], idle the longest now
      assert.equal(2, st.connections_evicted)
      assert.equal("closed", read_end(conns[2]))
      for _, c in ipairs(conns) do c:close() end
      fourth:close()
      small:stop()
    end)

    -- A connection that has sent "GET / HTTP/1.1\r\n" and nothing more (a slow-header client).
    local function slow_header(port, partial)
      local c = assert(socket.connect("127.0.0.1", port))
      c:settimeout(20)                               -- outer bound only: each read waits for a state
      if partial ~= false then assert(c:send("GET / HTTP/1.1\r\n")) end
      return c
    end

    it("answers a request while max_connections slow-header clients hold every connection", function()
      local small = sandbox.start { extra = { "--max-connections", "3" } }
      local port = tonumber(small.url:match(":(%d+)$"))
      local slow = { slow_header(port), slow_header(port), slow_header(port) }
      local c = assert(socket.connect("127.0.0.1", port))
      c:settimeout(20)
      assert(c:send(request_bytes("/v1/ai3d/query", small.key, '{"JobId":"1"}')))
      assert.equal(200, (read_response(c)))
      assert.equal("closed", read_end(slow[1]))    -- the oldest slow head made room
      c:close()
      for _, s in ipairs(slow) do s:close() end
      small:stop()
    end)

    it("makes room past max_connections by closing the oldest incomplete request head first", function()
      local small = sandbox.start { extra = { "--max-connections", "3" } }
      local port = tonumber(small.url:match(":(%d+)$"))
      local function query(c, id)
        assert(c:send(request_bytes("/v1/ai3d/query", small.key, '{"JobId":"' .. id .. '"}')))
        return (read_response(c))
      end
      local idle = assert(socket.connect("127.0.0.1", port))    -- idle keep-alive, the oldest connection
      idle:settimeout(20)
      assert.equal(200, query(idle, 1))
      local slow1, slow2 = slow_header(port), slow_header(port)  -- the server is full now
      local fresh = assert(socket.connect("127.0.0.1", port))
      fresh:settimeout(20)
      assert.equal(200, query(fresh, 2))             -- answered: the server made room
      assert.equal("closed", read_end(slow1))      -- by closing the oldest incomplete head
      slow2:settimeout(0)
      assert.equal("timeout", read_end(slow2))     -- and only that one
      assert.equal(200, query(idle, 3))              -- the idle keep-alive connection was kept
      local st = small:stats()                       -- this call's connection takes slow2's place
      assert.equal(2, st.connections_evicted)
      slow2:settimeout(20)
      assert.equal("closed", read_end(slow2))
      for _, c in ipairs { idle, slow1, slow2, fresh } do c:close() end
      small:stop()
    end)

    it("evicts only when a new connection waits to be accepted (in-process, step by step)", function()
      local server = require("hy3d.sandbox.http").new(function() return { status = 200, body = "ok" } end,
        { max_connections = 2 })
      local _, port = assert(server:listen("127.0.0.1", 0))
      local slow = { slow_header(port), slow_header(port) }
      for _ = 1, 400 do                              -- until both are accepted (20 s at most)
        if server.stats.connections_open == 2 then break end
        server:step(0.05)
      end
      assert.equal(2, server.stats.connections_open)
      for _ = 1, 3 do server:step(0) end             -- full, but nobody waits: nothing is closed
      assert.equal(0, server.stats.connections_evicted)
      local c = assert(socket.connect("127.0.0.1", port))
      assert(c:send("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
      c:settimeout(0)
      local got = ""
      for _ = 1, 400 do
        server:step(0.05)
        local data, _, partial = c:receive(4096)
        got = got .. (data or partial or "")
        if got:find("\r\n\r\nok$") then break end
      end
      assert.matches("^HTTP/1%.1 200 OK\r\n", got)
      assert.equal(1, server.stats.connections_evicted)
      assert.equal("closed", read_end(slow[1]))
      slow[2]:settimeout(0)
      assert.equal("timeout", read_end(slow[2]))
      for _, s in ipairs { c, slow[1], slow[2] } do s:close() end
      server:close()
    end)

    it("holds a client that trickles its head a line at a time to the same deadline", function()
      local small = sandbox.start { extra = { "--header-timeout", "1" } }
      local c = slow_header(tonumber(small.url:match(":(%d+)$")))
      local got, err, lines, t0 = "", "timeout", 0, socket.gettime()
      c:settimeout(0.25)
      while err == "timeout" and socket.gettime() - t0 < 20 do   -- a header line each quarter second
        local data, e, partial = c:receive("*a")     -- data: all of it, up to the close
        got, err = got .. (data or partial or ""), data and "closed" or e
        if err == "timeout" then
          lines = lines + 1
          c:send("X-Trickle: " .. lines .. "\r\n")
        end
      end
      c:close()
      -- ended by the server (a line sent just after it closed may turn its close into a reset)
      assert.is_true(err == "closed" or err == "connection reset by peer", "the read ended with " .. tostring(err))
      if got ~= "" then assert.matches("^HTTP/1%.1 408 ", got) end
      assert.equal(1, small:stats().header_timeouts)
      small:stop()
    end)

    it("closes a connection that sends no complete request head within --header-timeout", function()
      local small = sandbox.start { extra = { "--header-timeout", "1" } }
      local port = tonumber(small.url:match(":(%d+)$"))
      local idle = assert(socket.connect("127.0.0.1", port))
      idle:settimeout(20)
      assert(idle:send(request_bytes("/v1/ai3d/query", small.key, '{"JobId":"1"}')))
      assert.equal(200, (read_response(idle)))       -- idle between requests from here on
      local slow = { slow_header(port), slow_header(port), slow_header(port, false) }
      for i, c in ipairs(slow) do
        local got, err, partial = c:receive("*a")     -- everything until the server closes it
        if not got then assert.equal("closed", err) end
        got = got or partial
        if i < 3 then
          assert.matches("^HTTP/1%.1 408 Request Timeout\r\n", got)
          assert.matches("\r\nConnection: close\r\n", got)
        else
          assert.equal("", got)                      -- nothing sent, nothing to answer: just closed
        end
        c:close()
      end
      -- idle longer than the header deadline (it was idle before the slow heads began), but a
      -- keep-alive connection between requests is not a slow head: it still works
      assert(idle:send(request_bytes("/v1/ai3d/query", small.key, '{"JobId":"2"}')))
      assert.equal(200, (read_response(idle)))
      idle:close()
      local st = small:stats()
      assert.equal(3, st.header_timeouts)
      assert.equal(0, st.connections_evicted)
      small:stop()
    end)

    it("serves many concurrent keep-alive connections and counts them", function()
      local n = 200
      local before = sb:stats()
      local conns = {}
      for i = 1, n do
        conns[i] = assert(socket.connect("127.0.0.1", tonumber(sb.url:match(":(%d+)$"))))
        conns[i]:settimeout(10)
      end
      for round = 1, 2 do
        for i = 1, n do
          assert(conns[i]:send(request_bytes("/v1/ai3d/query", sb.key, '{"JobId":"' .. i .. round .. '"}')))
        end
        for i = 1, n do
          local status, headers, body = read_response(conns[i])
          assert.equal(200, status)
          assert.equal("keep-alive", headers.connection)
          assert.equal("FailedOperation.JobNotFound", cjson.decode(body).Response.Error.Code)
        end
      end
      for i = 1, n do conns[i]:close() end
      local after = sb:stats()
      -- n client connections, plus the one this stats call opens
      assert.equal(n + 1, after.connections_opened - before.connections_opened)
      assert.equal(2 * n + 1, after.requests_served - before.requests_served)
    end)
  end)
end)

describe("hy3d-sandbox's command line", function()
  local parse = require("hy3d.sandbox").parse_args
  local function getenv() return nil end

  it("refuses a port outside 0..65535 and negative or non-finite durations", function()
    for _, argv in ipairs {
      { "--port", "99999" }, { "--port", "-1" }, { "--port", "80.5" }, { "--wait-s", "-1" }, { "--run-s", "-0.5" },
      { "--lifetime", "inf" }, { "--wait-s", "nan" }, { "--url-ttl", "-3" }, { "--max-faces", "0" },
      { "--rate-limit", "-1" }, { "--max-connections", "0" }, { "--seed", "1.5" }, { "--port", "0x50" },
    } do
      local cfg, err = parse(argv, getenv)
      assert.is_nil(cfg, table.concat(argv, " "))
      assert.truthy(err:find(argv[1], 1, true), err)
    end
    assert.equal(65535, parse({ "--port", "65535" }, getenv).port)
    assert.equal(0, parse({ "--wait-s", "0" }, getenv).wait_time)
    assert.equal(0.25, parse({ "--run-s", ".25" }, getenv).run_time)
  end)

  it("a usage error is one line and a pointer to --help, not the whole help", function()
    for _, args in ipairs { "--port 99999", "--bogus", "--wait-s -1" } do
      local ok, out, code = sandbox.run(sandbox.lua_env() .. " " .. sandbox.lua() .. " sandbox/bin/hy3d-sandbox " .. args)
      assert.is_false(ok)
      assert.equal(2, code, out)
      assert.matches("^hy3d%-sandbox: [^\n]+%(see `hy3d%-sandbox %-%-help`%)\n?$", out)
    end
  end)
end)
