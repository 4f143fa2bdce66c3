-- hy3d.batch in process against hy3d-sandbox: events and summary, the after/before_submit seams, a second call
-- that skips whole files and re-downloads missing ones from the JobId, bad entries refused before any request.
local hy3d = require "hy3d"
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local q, exists = sandbox.shell_quote, sandbox.exists

describe("hy3d.batch", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, concurrency = 3 }
  local dir

  setup(function() dir = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. q(dir)) end)

  local function requests(route) return (sb:stats().requests or {})[route] or 0 end
  local function fresh() return dir .. "/d" .. tostring(math.random(1, 1e9)) end

  it("runs the entries, calls on_event and after, and sums the credits", function()
    sb:config { gateway_credits = true }
    local client = sb:client { poll_interval = 0.05 }
    local out, seen, after = fresh(), {}, {}
    local summary = hy3d.assert(hy3d.batch({ "a wooden chair", { name = "Tea Pot", params = { Prompt = "a teapot" } },
                                             { params = "a wooden chair" } }, {
      client = client, dir = out,
      on_event = function(e) seen[#seen + 1] = e.event .. " " .. e.name end,
      after = function(item, result, files) after[#after + 1] = { item.name, result.Status, files[1].type } end,
    }))
    assert.same({ 3, 3, 0, 0, 0 }, { summary.total, summary.done, summary.failed, summary.skipped, summary.resumed })
    assert.equal(60, summary.credits)
    assert.same({ "a_wooden_chair", "tea_pot", "a_wooden_chair-2" },
      { summary.jobs[1].name, summary.jobs[2].name, summary.jobs[3].name })
    for _, j in ipairs(summary.jobs) do
      assert.equal("done", j.status)
      assert.equal(("%s/%s/%s.glb"):format(out, j.name, j.name), j.files[1].path)
      assert.equal(sandbox.read_file(j.files[1].path):sub(1, 4), "glTF")
    end
    table.sort(seen)
    assert.same({ "done a_wooden_chair", "done a_wooden_chair-2", "done tea_pot", "submitted a_wooden_chair",
                  "submitted a_wooden_chair-2", "submitted tea_pot" }, seen)
    table.sort(after, function(a, b) return a[1] < b[1] end)
    assert.same({ "a_wooden_chair", "DONE", "GLB" }, after[1])
    assert.equal(3, #after)
  end)

  it("a second call submits nothing: whole files are skipped, a missing one is fetched again from its JobId", function()
    local client = sb:client { poll_interval = 0.05 }
    local out = fresh()
    local list = { "a red chair", "a blue chair", "a green chair" }
    local first = hy3d.assert(hy3d.batch(list, { client = client, dir = out }))
    assert.equal(3, first.done)
    assert.equal(3, requests("submit"))
    os.remove(first.jobs[2].files[1].path)
    local second = hy3d.assert(hy3d.batch(list, { client = client, dir = out }))
    assert.same({ 3, 2, 1 }, { second.done, second.skipped, second.resumed })
    assert.equal(3, requests("submit"))
    assert.equal(4, requests("files"))
    assert.equal(first.jobs[2].job_id, second.jobs[2].job_id)
    assert.is_true(exists(first.jobs[2].files[1].path))
    -- a changed entry is a new job under the same name
    list[3] = { name = "a_green_chair", params = { Prompt = "a green chair", EnablePBR = true } }
    local third = hy3d.assert(hy3d.batch(list, { client = client, dir = out }))
    assert.equal(2, third.skipped)
    assert.equal(4, requests("submit"))
    assert.equal("a_green_chair", third.jobs[3].name)
  end)

  it("a journal of an earlier hy3d (keyed name:hash) is still honoured: its lines keep their folders", function()
    local client = sb:client { poll_interval = 0.05 }
    local out = fresh()
    local first = hy3d.assert(hy3d.batch({ "an old chair" }, { client = client, dir = out }))
    local n = requests("submit")
    local journal = out .. "/.hy3d-batch.jsonl"
    local text = sandbox.read_file(journal)
    local hash = core.sha256(require("hy3d.batch").canonical { kind = "pro", params = { Prompt = "an old chair" } },
      "hex"):sub(1, 16)
    local f = io.open(journal, "wb")
    f:write((text:gsub('"key":"' .. hash .. '"', '"key":"an_old_chair:' .. hash .. '"'):gsub(',"name":"[^"]*"', "")))
    f:close()
    local second = hy3d.assert(hy3d.batch({ "a new lamp", "an old chair" }, { client = client, dir = out }))
    assert.equal(n + 1, requests("submit"))
    assert.same({ "done", true, first.jobs[1].name }, { second.jobs[2].status, second.jobs[2].skipped,
      second.jobs[2].name })
  end)

  it("a job past its timeout is failed with WAIT_TIMEOUT, and the next call waits for it (no second submit)", function()
    local client = sb:client { poll_interval = 0.05 }
    local out = fresh()
    sb:freeze()
    local first = hy3d.assert(hy3d.batch({ "a slow chair" }, { client = client, dir = out, timeout = 0.3 }))
    assert.same({ "failed", "WAIT_TIMEOUT" }, { first.jobs[1].status, first.jobs[1].code })
    sb:clock { freeze = false }
    local second = hy3d.assert(hy3d.batch({ "a slow chair" }, { client = client, dir = out }))
    assert.same({ 1, 1, 0 }, { second.done, second.resumed, second.failed })
    assert.equal(first.jobs[1].job_id, second.jobs[1].job_id)
    assert.equal(1, requests("submit"))
  end)

  it("refuses a bad entry before any request, naming it", function()
    local client = sb:client()
    for _, case in ipairs {
      { { "ok", 5 }, "BATCH_ITEM", "entry 2" },
      { { "ok", { name = "x" } }, "BATCH_ITEM", "entry 2" },
      { { "ok", { name = {}, params = "p" } }, "BATCH_ITEM", "name must be a string" },
      { {}, "BATCH_EMPTY", "no jobs" },
      { { "ok", { name = "big", params = { Prompt = "p", FaceCount = 5 } } }, "INVALID_PARAMETER", "line 2 (big)" },
    } do
      local summary, err = hy3d.batch(case[1], { client = client, dir = fresh() })
      assert.is_nil(summary)
      assert.equal("invalid", err.kind)
      assert.equal(case[2], err.code)
      assert.matches(case[3], err.message, 1, true)
    end
    -- a journal that cannot be written (here a folder) stops the batch before any submit
    local summary, err = hy3d.batch({ "ok" }, { client = client, dir = fresh(), journal = dir })
    assert.is_nil(summary)
    assert.same({ "io", "WRITE_ERROR" }, { err.kind, err.code })
    assert.equal(0, requests("submit"))
    assert.has_error(function() hy3d.batch({ "x" }, { client = client, concurrency = 0 }) end)
    assert.has_error(function() hy3d.batch({ "x" }, { client = client, formats = { 1 } }) end)
    assert.has_error(function() hy3d.batch("x", { client = client }) end)
    assert.has_error(function() hy3d.batch({ "x" }, { client = client, dierctory = "out" }) end)
    assert.has_error(function() hy3d.batch({ "x" }, { client = client, journal = true }) end)
    -- a --dir that is a file, or a client without credentials: refused before any request
    local file = sandbox.write_file(fresh(), "not a folder")
    summary, err = hy3d.batch({ "ok" }, { client = client, dir = file .. "/out" })
    assert.is_nil(summary)
    assert.equal("io", err.kind)
    summary, err = hy3d.batch({ "ok" }, { client = hy3d.new { base_url = sb.url, api_key = "" }, dir = fresh() })
    assert.is_nil(summary)
    assert.equal("NO_CREDENTIALS", err.code)
    assert.equal(0, requests("submit"))
  end)

  it("a callback that raises or an after step that fails is reported; the next call runs that after step again", function()
    local client = sb:client { poll_interval = 0.05 }
    local out, calls = fresh(), 0
    local function after(item)
      calls = calls + 1
      if item.name == "b" and calls <= 2 then return nil, { kind = "job", code = "RIG_FAILED", message = "no rig" } end
    end
    local list = { { name = "a", params = "a chair" }, { name = "b", params = "a lamp" } }
    local summary = hy3d.assert(hy3d.batch(list, { client = client, dir = out, concurrency = 1, after = after,
                                                   on_event = function() error("boom") end }))
    assert.same({ 1, 1 }, { summary.done, summary.failed })
    assert.same({ "failed", "RIG_FAILED" }, { summary.jobs[2].status, summary.jobs[2].code })
    assert.equal("ON_EVENT", summary.callback_errors[1].code)
    assert.matches("boom", summary.callback_errors[1].message)
    local again = hy3d.assert(hy3d.batch(list, { client = client, dir = out, after = after }))
    assert.same({ 2, 1, 1 }, { again.done, again.skipped, again.resumed })
    assert.equal(3, calls)
    assert.equal(2, requests("submit"))
    local raised = hy3d.assert(hy3d.batch({ "x" }, { client = client, dir = fresh(), journal = false,
                                                      after = function() error("kaput") end }))
    assert.same({ "failed", "AFTER" }, { raised.jobs[1].status, raised.jobs[1].code })
  end)

  it("cached(item) makes an entry done with no request", function()
    local client = sb:client { poll_interval = 0.05 }
    local out = fresh()
    local glb = sandbox.write_file(out .. "-hit.glb", "glTF")
    local summary = hy3d.assert(hy3d.batch({ "hit", "miss" }, { client = client, dir = out,
      cached = function(item)
        if item.name == "hit" then return { { type = "GLB", path = glb, bytes = 4 } } end
      end }))
    assert.same({ 2, 1 }, { summary.done, summary.cached })
    assert.equal(glb, summary.jobs[1].files[1].path)
    assert.equal(1, requests("submit"))
  end)

  it("runs inside an hy3d.spawn task, yielding like any call", function()
    local client = sb:client { poll_interval = 0.05 }
    local task = hy3d.spawn(function() return hy3d.batch({ "one", "two" }, { client = client, dir = fresh() }) end)
    assert.is_true(hy3d.run())
    local summary = task:result()
    assert.equal(2, summary.done)
  end)

  it("before_submit can refuse an entry: it fails with the refusal's code and is never sent", function()
    local client = sb:client { poll_interval = 0.05 }
    local summary = hy3d.assert(hy3d.batch({ "cheap", "dear" }, {
      client = client, dir = fresh(), journal = false,
      before_submit = function(item)
        if item.name == "dear" then return nil, { kind = "invalid", code = "OVER_BUDGET", message = "over budget" } end
        return true
      end,
    }))
    assert.same({ 1, 1 }, { summary.done, summary.failed })
    assert.equal("OVER_BUDGET", summary.jobs[2].code)
    assert.equal(1, requests("submit"))
  end)

  it("a failed job is in the summary with its code; the journal is owner-only", function()
    sb:fault { action = "fail", code = "FailedOperation.Generate", count = 1 }
    local client = sb:client { poll_interval = 0.05 }
    local out = fresh()
    local summary = hy3d.assert(hy3d.batch({ "first", "second" }, { client = client, dir = out, concurrency = 1 }))
    assert.same({ 1, 1 }, { summary.done, summary.failed })
    assert.same({ "failed", "FailedOperation.Generate" }, { summary.jobs[1].status, summary.jobs[1].code })
    -- a FAILed job is submitted again by the next call; the done one is skipped
    local again = hy3d.assert(hy3d.batch({ "first", "second" }, { client = client, dir = out, concurrency = 1 }))
    assert.same({ 2, 1, 0 }, { again.done, again.skipped, again.failed })
    assert.equal(3, requests("submit"))
    local _, mode = sandbox.run("stat -c %a " .. q(out .. "/.hy3d-batch.jsonl"))
    assert.equal("600", mode:match("%d+"))
    -- every JobId the sandbox gave out is in the journal
    local ids = {}
    for line in sandbox.read_file(out .. "/.hy3d-batch.jsonl"):gmatch("[^\n]+") do
      local e = core.decode(line)
      if e.event == "submitted" then ids[#ids + 1] = e.job_id end
    end
    assert.equal(3, #ids)
  end)
end)
