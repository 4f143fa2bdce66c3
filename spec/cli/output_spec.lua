-- hy3d.cli.output in process: sizes and times for humans, the progress bar, and every line
-- redacted before it is written (text and JSON lines).
local core = require "hy3d.core"
local output = require "hy3d.cli.output"
local cli = require "spec.support.cli"

-- An output with JSON or text mode, writing into .stdout / .stderr lists instead of the streams.
local function new_output(fields)
  local o = setmetatable({ secrets = {}, warned = {}, progress = {}, progress_at = 0, last_draw = 0, records = {} },
                         { __index = output.Output })
  for k, v in pairs(fields or {}) do o[k] = v end
  function o:remember(entry) self.records[#self.records + 1] = entry end
  return o
end

-- what fn wrote to stdout and stderr
local function captured(fn)
  local _, out, err = cli.captured(fn)
  return out, err
end

describe("hy3d.cli.output", function()
  it("words sizes and times for humans", function()
    assert.equal("?", output.human_bytes(nil))
    assert.equal("512 B", output.human_bytes(512))
    assert.equal("1.5 KB", output.human_bytes(1536))
    assert.equal("2.0 MB", output.human_bytes(2 * 1024 * 1024))
    assert.equal("1.00 GB", output.human_bytes(1024 * 1024 * 1024))
    assert.equal("4.2 s", output.human_elapsed(4.2))
    assert.equal("2 min 05 s", output.human_elapsed(125))
    assert.equal(1.235, output.round3(1.2346))
    assert.equal(5, output.width("chäir"))
  end)

  it("draws a bar of 24 cells, or the bytes when the size is unknown", function()
    assert.equal("GLB   [############............]  50%  512 B / 1.0 KB", output.progress_line("GLB", 512, 1024))
    assert.equal("OBJ   2.0 KB", output.progress_line("OBJ", 2048, nil))
  end)

  it("keeps secrets of 8 characters or more, trimmed too, and never writes them", function()
    local o = new_output()
    o:secret("short")
    o:secret("  sk-a-long-secret  ")
    assert.same({ "  sk-a-long-secret  ", "sk-a-long-secret" }, o.secrets)
    local out, err = captured(function()
      o:out("key sk-a-long-secret\n")
      o:err("key sk-a-long-secret\n")
      o:emit { event = "x", nested = { "sk-a-long-secret" } }
    end)
    assert.is_nil((out .. err):find("sk-a-long-secret", 1, true))
  end)

  it("writes one JSON line per event, and notes only in text mode", function()
    local o = new_output { json = true, job_id = "j1", t0 = core.now() }
    local out, err = captured(function()
      o:submitted { JobId = "j1", kind = "pro", RequestId = "r1" }
      o:status_changed { Status = "run" }
      o:note("for humans")
    end)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = core.decode(line) end
    assert.equal("submitted", lines[1].event)
    assert.equal("r1", lines[1].request_id)
    assert.equal("status", lines[2].event)
    assert.equal("RUN", lines[2].status)
    assert.equal("", err)
    assert.same({ job_id = "j1", status = "RUN", kind = "pro" }, o.records[1])
    o = new_output { json = false, quiet = false, t0 = core.now() }
    out, err = captured(function() o:submitted { JobId = "j2", kind = "rapid" } end)
    assert.equal("", out)
    assert.equal("submitted rapid job j2\n", err)
  end)

  it("warns once per message", function()
    local o = new_output()
    local _, err = captured(function()
      o:warn("careful")
      o:warn("careful")
    end)
    assert.equal("hy3d: warning: careful\n", err)
  end)

  it("reports a saved file, and the final progress first in JSON mode", function()
    local o = new_output { json = true, job_id = "j" }
    local out = captured(function() o:saved { type = "GLB", path = "a.glb", bytes = 10 } end)
    local events = {}
    for line in out:gmatch("[^\n]+") do events[#events + 1] = core.decode(line).event end
    assert.same({ "progress", "file" }, events)
    o = new_output { json = false }
    out = captured(function() o:saved { type = "OBJ", path = "a.zip", bytes = 2048, dir = "a_obj/", entries = { "m" } } end)
    assert.equal("saved a.zip (OBJ, 2.0 KB)\nextracted 1 file into a_obj/\n", out)
  end)
end)
