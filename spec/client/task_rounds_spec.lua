-- A spawned task's requests leave the engine's rounds to the pump: a submit or a wait started in a
-- task yields at once and the pump's update finds it done, so a resume never runs every other
-- transfer's due work (issue #20: the game loop's frames). Counted with the Lua calls into the engine.
local core = require "hy3d.core"
local hy3d = require "hy3d"
local sandbox = require "spec.support.sandbox"
local engine = require "spec.support.engine"

-- The engine:wait and engine:step calls of every engine until the test ends.
local function count_rounds() return engine.count_calls(finally, "wait", "step") end

describe("a spawned task's requests", function()
  local sb = sandbox.suite { wait_time = 0, run_time = 0 }

  before_each(function()
    sb:config { wait_time = 0, run_time = 0 }
  end)

  it("are driven by the pump's update: submit and wait in a task never call engine:wait", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local rounds = count_rounds()
    local tasks = {}
    for i = 1, 3 do
      tasks[i] = hy3d.spawn(function()
        local job = assert(c:submit { Prompt = "a chair " .. i })
        return c:wait(job)
      end)
    end
    local t0 = core.now()
    while hy3d.update() > 0 do
      core.sleep(0.001)
      assert(core.now() - t0 < 10, "the tasks never ended")
    end
    for i = 1, 3 do
      assert.equal("done", tasks[i]:status())
      assert.equal("DONE", (tasks[i]:result()).Status)
    end
    assert.equal(0, rounds.wait)
    assert.is_true(rounds.step > 0)
  end)

  it("still block in engine:wait outside a task", function()
    local c = sb:client { poll_interval = 0.01, max_retries = 0 }
    local rounds = count_rounds()
    local job = assert(c:submit { Prompt = "a chair" })
    assert.equal("DONE", assert(c:wait(job)).Status)
    assert.is_true(rounds.wait > 0)
  end)
end)
