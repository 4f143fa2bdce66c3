-- The seams that wire hy3d.batch to chains, credits and the cache, in process against hy3d-sandbox:
-- client:credits_add (a resumed run's budget), client:cache_key/cache_lookup/cache_store, and hy3d.batch with
-- then = { "rig" }: a chained job an earlier run journaled is waited for, not submitted again, and a second call
-- with the same cache sends nothing.
local hy3d = require "hy3d"
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"

local q, exists, read = sandbox.shell_quote, sandbox.exists, sandbox.read_file

describe("the batch pipeline's seams", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0, extra = { "--all-credits" } }
  local root

  setup(function() root = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. q(root)) end)

  local n = 0
  local function fresh()
    n = n + 1
    return ("%s/d%d"):format(root, n)
  end
  local function api3(opts)
    local o = { secret_id = sandbox.secret_id, secret_key = sandbox.secret_key, endpoint = sb.url, poll_interval = 0.02 }
    for k, v in pairs(opts or {}) do o[k] = v end
    return hy3d.new(o)
  end
  local function total()
    local t = 0
    for _, v in pairs(sb:stats().requests or {}) do t = t + v end
    return t
  end
  local function stat(action) return (sb:stats().requests or {})[action] or 0 end

  it("credits_add counts an earlier run's job once against max_credits; a pending one too", function()
    local client = api3 { max_credits = 30 }
    finally(function() client:close() end)
    assert.is_true(client:credits_add("1000000000000000001", 20))
    assert.is_false(client:credits_add("1000000000000000001", 20))   -- once per JobId
    assert.is_false(client:credits_add({}, 5))                          -- not a JobId
    assert.is_false(client:credits_add("1000000000000000002", -1))
    local spent, s = client:credits()
    assert.equal(20, spent)
    assert.equal(10, s.left)
    local before = total()
    local job, err = client:submit { Prompt = "a chair" }           -- 20 more would pass 30
    assert.is_nil(job)
    assert.equal("OVER_BUDGET", err.code)
    assert.equal(before, total())
    assert.is_true(client:credits_add("1000000000000000003", 5, true))
    spent, s = client:credits()
    assert.same({ 20, 5, 1, 5 }, { spent, s.pending, s.pending_jobs, s.left })
  end)

  it("cache_key is generate's key; cache_lookup restores with no request; a parent key makes another", function()
    local cdir = fresh() .. "/cache"
    local client, plain = api3 { cache_dir = cdir }, api3()             -- plain: no cache_dir
    finally(function()                            -- one finally per test (busted keeps the last)
      client:close()
      plain:close()
    end)
    local out = fresh()
    local res = hy3d.assert(client:generate({ Prompt = "a crate" }, { dir = out, name = "crate" }))
    local key = client:cache_key({ Prompt = "a crate" })
    assert.equal(res.key, key)
    assert.matches("^%x+$", key)
    assert.not_equal(key, client:cache_key({ Prompt = "a crate" }, { parent = key }))
    local before = total()
    local hit = assert(client:cache_lookup(key, { dir = out .. "/again", name = "crate" }))
    assert.is_true(hit.cached)
    assert.equal(res.job.JobId, hit.job.JobId)
    assert.equal(read(res.files[1].path), read(hit.files[1].path))
    assert.is_nil(client:cache_lookup(string.rep("0", 64)))
    assert.equal(before, total())
    local step = client:cache_key({}, { kind = "rigging", formats = { "FBX" }, parent = key })
    assert.is_true(client:cache_store(step, { job_id = res.job.JobId, kind = "rigging" }, res.files))
    assert.truthy(client:cache_lookup(step, { dir = out .. "/step", name = "x" }))
    assert.is_nil(plain:cache_key({ Prompt = "a crate" }))
    assert.is_nil(plain:cache_lookup(key))
    assert.equal("NO_CACHE", select(2, plain:cache_store(key, {}, res.files)).code)
  end)

  it("then = { \"rig\" }: a chained job in the journal is waited for, not submitted again", function()
    local client = api3()
    finally(function() client:close() end)
    local out = fresh()
    local summary = hy3d.assert(hy3d.batch({ "a robot" }, { client = client, dir = out }))
    assert.equal(1, summary.done)
    local jfile = out .. "/.hy3d-batch.jsonl"
    local done
    for line in read(jfile):gmatch("[^\n]+") do
      local e = core.decode(line)
      if e.event == "done" then done = e end
    end
    -- an earlier run submitted the rig and was killed before waiting for it
    local rig = hy3d.assert(client:chain(done.job_id, "rig"))
    local f = assert(io.open(jfile, "ab"))
    f:write(core.encode { event = "then_submitted", key = done.key, step = 1, kind = "rigging", job_id = rig.JobId,
                          from_job = done.job_id }, "\n")
    f:close()
    local rigs, seen = stat("SubmitAutoRiggingJob"), {}
    summary = hy3d.assert(hy3d.batch({ "a robot" }, { client = client, dir = out, ["then"] = { "rig" },
      on_event = function(e) seen[#seen + 1] = e.event end }))
    assert.same({ 1, 0, 1 }, { summary.done, summary.failed, summary.chained })
    assert.equal(rigs, stat("SubmitAutoRiggingJob"))
    assert.equal(rig.JobId, summary.jobs[1].steps[1].job_id)
    assert.same({ "then_resumed", "then_done" }, seen)
    assert.is_true(exists(out .. "/a_robot/a_robot_rigging.fbx"))
    -- and a third call finds the chain whole: nothing at all
    local before = total()
    summary = hy3d.assert(hy3d.batch({ "a robot" }, { client = client, dir = out, ["then"] = { "rig" } }))
    assert.same({ 1, 1 }, { summary.done, summary.skipped })
    assert.equal(before, total())
  end)

  it("then and a cache: the second call in a fresh dir sends nothing; the credits count the chained jobs", function()
    local cdir = fresh() .. "/cache"
    local client = api3 { cache_dir = cdir }
    finally(function() client:close() end)
    local summary = hy3d.assert(hy3d.batch({ "a lamp", "a desk" }, { client = client, dir = fresh(),
                                                                      ["then"] = { "rig" } }))
    assert.same({ 2, 2 }, { summary.done, summary.chained })
    assert.equal(2 * 20 + 2 * 10, summary.credits)
    assert.equal(2 * 10, summary.chained_credits)
    local before = total()
    local again = fresh()
    summary = hy3d.assert(hy3d.batch({ "a lamp", "a desk" }, { client = client, dir = again, ["then"] = { "rig" } }))
    assert.same({ 2, 2, 2 }, { summary.done, summary.cached, summary.chained })
    assert.equal(before, total())
    assert.is_true(exists(again .. "/a_desk/a_desk_rigging.fbx"))
    -- cache = false: the cache is not used
    summary = hy3d.assert(hy3d.batch({ "a lamp" }, { client = client, dir = fresh(), cache = false }))
    assert.is_nil(summary.cached)
    assert.is_true(total() > before)
  end)

  it("Ctrl-C while a chained step is reported goes on up; the next call resumes the chained job", function()
    local client = api3()
    finally(function() client:close() end)
    local out = fresh()
    local ok, err = pcall(hy3d.batch, { "a vase" }, { client = client, dir = out, ["then"] = { "rig" },
      on_event = function(e) if e.event == "then_submitted" then error("interrupted!", 0) end end })
    assert.is_false(ok)
    assert.matches("interrupted!", tostring(err))
    local rigs = stat("SubmitAutoRiggingJob")
    local summary = hy3d.assert(hy3d.batch({ "a vase" }, { client = client, dir = out, ["then"] = { "rig" } }))
    assert.same({ 1, 1 }, { summary.done, summary.chained })
    assert.equal(rigs, stat("SubmitAutoRiggingJob"))
  end)

  it("bad then kinds and dry_run: errors and plans, nothing sent", function()
    local client = api3()
    finally(function() client:close() end)
    local before = total()
    local s, err = hy3d.batch({ "a lamp" }, { client = client, dir = fresh(), ["then"] = { "paint" } })
    assert.is_nil(s)
    assert.equal("UNKNOWN_CHAIN_KIND", err.code)
    local plan = hy3d.assert(hy3d.batch({ "a lamp", "a desk" }, { client = client, dir = fresh(), dry_run = true,
                                                                  ["then"] = { "topology,rig" } }))
    assert.is_true(plan.dry_run)
    assert.equal(2, #plan.plans)
    assert.same({ "reduce_face", "rigging" }, { plan.plans[1].steps[1].kind, plan.plans[1].steps[2].kind })
    assert.equal(plan.plans[1].credits + plan.plans[2].credits, plan.credits)
    assert.equal(before, total())
  end)
end)
