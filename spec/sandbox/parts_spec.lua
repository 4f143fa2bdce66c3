-- hy3d-sandbox's parts one by one, in-process and without a socket: store (ids, the job clock, the
-- timeline, rate limit, sweep), doors (envelopes), cos (signed URLs, byte ranges), control (clock,
-- config, request log) and main (the command line), as hy3d.sandbox puts them together.
local cjson = require "cjson"
local sandbox = require "hy3d.sandbox"
local store = require "hy3d.sandbox.store"
local doors = require "hy3d.sandbox.doors"
local cos = require "hy3d.sandbox.cos"
local control = require "hy3d.sandbox.control"
local main = require "hy3d.sandbox.main"

-- A sandbox that never listens, its job clock frozen at t (default 1e9), its base URL set by hand.
local function new(cfg, t)
  local sb = sandbox.new(cfg or {})
  sb.base_url = "http://127.0.0.1:1"
  sb.clock = { offset = 0, frozen = t or 1e9 }
  return sb
end

local function request(headers, extra)
  local req = { method = "POST", path = "/", query = "", headers = headers or {}, body = "", connection = 1 }
  for k, v in pairs(extra or {}) do req[k] = v end
  return req
end

describe("hy3d.sandbox", function()
  it("is one object made of its parts, each method owned by one part", function()
    local sb = new()
    for _, part in ipairs { store, doors, cos, control } do
      for name, method in pairs(part.methods) do assert.equal(method, sb[name], name) end
    end
    assert.is_function(sb.handle)
    assert.is_function(sb.listen)
  end)
end)

describe("hy3d.sandbox.store", function()
  it("moves a job WAIT -> RUN -> DONE (or FAIL) on its timings", function()
    local job = { created = 100, wait_time = 1, run_time = 2 }
    assert.equal("WAIT", store.status_of(job, 100.999))
    assert.equal("RUN", store.status_of(job, 101))
    assert.equal("RUN", store.status_of(job, 102.999))
    assert.equal("DONE", store.status_of(job, 103))
    job.fail = { code = "X" }
    assert.equal("FAIL", store.status_of(job, 103))
  end)

  it("makes version-4 UUIDs and numeric JobIds", function()
    assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", store.uuid())
    local sb = new()
    local a, b = sb:new_job_id(), sb:new_job_id()
    assert.matches("^%d+$", a)
    assert.not_equal(a, b)
  end)

  it("counts requests per action per second of the job clock", function()
    local sb = new { rate_limit = 2 }
    assert.is_false(sb:rate_limited("A"))
    assert.is_false(sb:rate_limited("A"))
    assert.is_true(sb:rate_limited("A"))
    assert.is_false(sb:rate_limited("B"))
    sb.clock.frozen = sb.clock.frozen + 1
    assert.is_false(sb:rate_limited("A"))
  end)

  it("holds a slot while a job runs and the sweep forgets expired jobs", function()
    local sb = new { wait_time = 1, run_time = 1, job_ttl = 10, url_ttl = 10 }
    local job = { id = "1", family = "pro", created = sb:now(), wait_time = 1, run_time = 1 }
    sb:store(job)
    sb.active.pro = { job }
    assert.equal(1, sb:busy_slots("pro", sb:now() + 1.5))
    assert.equal(0, sb:busy_slots("pro", sb:now() + 2))
    sb:sweep(sb:now() + 12)
    assert.equal(job, sb.jobs["1"])
    sb:sweep(sb:now() + 12.5)
    assert.is_nil(sb.jobs["1"])
  end)
end)

describe("hy3d.sandbox.doors", function()
  it("answers in the API's envelope with a RequestId, flat on the gateway when so configured", function()
    local sb = new()
    local res = sb:answer({ JobId = "7" }, "api")
    local body = cjson.decode(res.body)
    assert.equal("7", body.Response.JobId)
    assert.matches("^%x+%-", body.Response.RequestId)
    sb.cfg.envelope = "flat"
    assert.equal("7", cjson.decode(sb:answer({ JobId = "7" }, "gateway").body).JobId)
    assert.equal("7", cjson.decode(sb:answer({ JobId = "7" }, "api").body).Response.JobId)
    res = sb:api_error("InvalidParameter", { zh = "中文", en = "English" }, "api")
    assert.equal("InvalidParameter", res.code)
    assert.equal("中文", cjson.decode(res.body).Response.Error.Message)
  end)

  it("encodes an empty list as []", function()
    assert.equal('{"a":[]}', doors.encode { a = doors.EMPTY_ARRAY_MARK })
  end)
end)

describe("hy3d.sandbox.cos", function()
  it("signs a file URL for url_ttl seconds from the job clock", function()
    local sb = new({ url_ttl = 60 }, 1000)
    local url = sb:file_url({ id = "42" }, "model.glb")
    assert.matches("^http://127%.0%.0%.1:1/files/42/model%.glb%?q%-sign%-algorithm=sha1&", url)
    assert.matches("q%-sign%-time=1000%%3B1060&", url)
  end)

  it("answers byte ranges like COS: 206, 416, and the whole body for another ETag or no ranges", function()
    local sb = new()
    local etag = cos.etag_of("x", 10)
    assert.equal(etag, cos.etag_of("x", 10))
    assert.not_equal(etag, cos.etag_of("x", 11))
    local function get(range, if_range)
      return sb:serve_bytes(request { range = range, ["if-range"] = if_range }, "0123456789", {}, etag, function()
        return { headers = {}, body = "no" }
      end)
    end
    local res = get("bytes=2-4")
    assert.equal(206, res.status)
    assert.equal("234", res.body)
    assert.equal("bytes 2-4/10", res.headers["Content-Range"])
    assert.equal("789", get("bytes=-3").body)
    res = get("bytes=10-")
    assert.equal(416, res.status)
    assert.equal("bytes */10", res.headers["Content-Range"])
    assert.equal(200, get("bytes=2-4", '"other"').status)
    assert.equal(200, get("bytes=0-1,4-5").status)                 -- several ranges: the whole body
    sb.cfg.ranges = false
    res = get("bytes=2-4")
    assert.equal(200, res.status)
    assert.is_nil(res.headers["Accept-Ranges"])
  end)
end)

describe("hy3d.sandbox.control", function()
  it("freezes and advances the job clock, never backwards", function()
    local sb = sandbox.new {}
    local state = cjson.decode(sb:set_clock({ freeze = true }).body)
    assert.is_true(state.frozen)
    state = cjson.decode(sb:set_clock({ advance = 30 }).body)
    assert.is_true(state.ahead >= 29.9)
    local frozen_at = sb:now()
    state = cjson.decode(sb:set_clock({ freeze = false }).body)
    assert.is_false(state.frozen)
    assert.is_true(sb:now() >= frozen_at - 1e-6)                -- runs on from there (JSON keeps 14 digits)
    assert.equal(400, sb:set_clock({ advance = -1 }).status)
  end)

  it("takes known config keys only", function()
    local sb = new()
    assert.equal(200, sb:set_config({ wait_time = 5 }).status)
    assert.equal(5, sb.cfg.wait_time)
    assert.equal(400, sb:set_config({ api_key = "x" }).status)
    assert.equal(400, sb:set_config({ wait_time = "5" }).status)
  end)

  it("logs a request without its secrets and keeps the last 200", function()
    local sb = new()
    local entry = sb:record(request({ authorization = "sk-secret", ["x-tc-token"] = "tok", host = "h" }),
      { route = "submit" })
    assert.is_nil(entry.headers.authorization)
    assert.equal("<redacted>", entry.headers["x-tc-token"])
    assert.equal("h", entry.headers.host)
    assert.not_matches("sk%-secret", cjson.encode(sb.requests))
    for _ = 1, 250 do sb:record(request(), { route = "query" }) end
    assert.equal(200, #sb.requests)
    assert.equal(250, sb.stats.requests.query)
  end)
end)

describe("hy3d.sandbox.main", function()
  it("has the usage text and the parser hy3d.sandbox forwards to", function()
    assert.matches("^usage: hy3d%-sandbox", main.usage)
    assert.same({ help = true }, main.parse_args({ "--help" }, function() end))
    assert.same(main.parse_args({ "--wait-s", "2" }, function() end), sandbox.parse_args({ "--wait-s", "2" }, function() end))
  end)
end)
