-- hy3d.jobs: the local job record of the hy3d command (an append-only JSON-lines file).
local core = require "hy3d.core"
local jobs = require "hy3d.jobs"
local sandbox = require "spec.support.sandbox"

local write = sandbox.write_file

local function lines_of(path)
  local out = {}
  for line in assert(io.open(path, "rb")):lines() do out[#out + 1] = line end
  return out
end

describe("hy3d.jobs", function()
  local dir

  before_each(function()
    dir = sandbox.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. sandbox.shell_quote(dir))
  end)

  describe("default_path", function()
    local function env(t)
      return function(name) return t[name] end
    end

    it("prefers HY3D_JOBS_FILE, then an absolute XDG_STATE_HOME, then HOME", function()
      assert.equal("/x/jobs.jsonl", jobs.default_path(env {
        HY3D_JOBS_FILE = "/x/jobs.jsonl", XDG_STATE_HOME = "/state", HOME = "/home/u" }))
      assert.equal("/state/hy3d/jobs.jsonl", jobs.default_path(env { XDG_STATE_HOME = "/state/", HOME = "/home/u" }))
      assert.equal("/home/u/.local/state/hy3d/jobs.jsonl",
        jobs.default_path(env { XDG_STATE_HOME = "relative/state", HOME = "/home/u" }))
      assert.equal("/home/u/.local/state/hy3d/jobs.jsonl", jobs.default_path(env { HY3D_JOBS_FILE = "", HOME = "/home/u" }))
    end)

    it("says why when there is no place for the record", function()
      local path, err = jobs.default_path(env {})
      assert.is_nil(path)
      assert.matches("HY3D_JOBS_FILE", err)
    end)

    it("reads the process environment by default", function()
      assert.equal(jobs.default_path(os.getenv), jobs.default_path())
    end)
  end)

  describe("excerpt", function()
    it("keeps the first n characters without cutting UTF-8 apart", function()
      assert.equal("a wo", jobs.excerpt("a wooden chair", 4))
      assert.equal("a wooden chair", jobs.excerpt("a wooden chair", 80))
      assert.equal("木头", jobs.excerpt("木头椅子", 2))
      assert.equal("é", jobs.excerpt("éa", 1))
      assert.equal(("x"):rep(80), jobs.excerpt(("x"):rep(200), 80))
      assert.is_nil(jobs.excerpt(nil, 80))
    end)
  end)

  describe("a record", function()
    it("creates its directories level by level and appends one JSON line per entry", function()
      local path = dir .. "/a/b/c/jobs.jsonl"
      local rec = jobs.open(path)
      assert.is_true(rec:append { job_id = "1", kind = "pro", prompt = "a chair", submitted_at = 1700000000 })
      assert.is_true(rec:append { job_id = "1", status = "RUN" })
      local lines = lines_of(path)
      assert.equal(2, #lines)
      assert.same({ job_id = "1", kind = "pro", prompt = "a chair", submitted_at = 1700000000 }, core.decode(lines[1]))
      assert.same({ job_id = "1", status = "RUN" }, core.decode(lines[2]))
    end)

    it("works with a relative path", function()
      local ok, out = sandbox.run(("cd %s && %s %s -e %s"):format(sandbox.shell_quote(dir), sandbox.lua_env(), sandbox.lua(),
        sandbox.shell_quote([[local r = require("hy3d.jobs").open("s/jobs.jsonl")
          assert(r:append{ job_id = "9" }); io.write(#assert(r:read()))]])))
      assert.is_true(ok, out)
      assert.equal("1", out)
      assert.is_string(sandbox.read_file(dir .. "/s/jobs.jsonl"))
    end)

    it("merges the lines of each job: the latest value wins, files accumulate, first-seen order", function()
      local rec = jobs.open(dir .. "/jobs.jsonl")
      rec:append { job_id = "2", kind = "rapid", prompt = "a teapot", submitted_at = 10 }
      rec:append { job_id = "1", kind = "pro", prompt = "a chair", submitted_at = 11 }
      rec:append { job_id = "2", status = "WAIT" }
      rec:append { job_id = "2", status = "DONE", files = { "/o/t.glb" } }
      rec:append { job_id = "2", files = { "/o/t.glb", "/o/t.zip" } }
      rec:append { job_id = "1", status = "FAIL" }
      local list, skipped = rec:read()
      assert.equal(0, skipped)
      assert.equal(2, #list)
      assert.same({ job_id = "2", kind = "rapid", prompt = "a teapot", submitted_at = 10, status = "DONE",
                    files = { "/o/t.glb", "/o/t.zip" } }, list[1])
      assert.same({ job_id = "1", kind = "pro", prompt = "a chair", submitted_at = 11, status = "FAIL", files = {} }, list[2])
      assert.equal("FAIL", rec:get("1").status)
      assert.is_nil(rec:get("3"))
    end)

    it("skips lines that do not parse, or are not job entries, and counts them", function()
      local path = dir .. "/jobs.jsonl"
      write(path, table.concat({
        '{"job_id":"1","kind":"pro"}',
        '{"job_id":"1","sta',                       -- cut short
        'not json at all',
        '123',
        'null',
        '[]',
        '{"kind":"pro"}',                           -- no job_id
        '',
        '   ',
        '{"job_id":2,"status":"DONE","files":[1,"/a.glb",null]}',   -- a numeric JobId, junk files
        '{"job_id":"1","status":null,"extra":{"nested":true}}',
        '{"job_id":1e400,"status":"DONE"}',          -- no JobId: not "inf"
        '{"job_id":2.5,"status":"DONE"}',
        '{"job_id":-3,"status":"DONE"}',
      }, "\n") .. "\n")
      local list, skipped = jobs.open(path):read()
      assert.equal(9, skipped)
      assert.equal(2, #list)
      assert.same({ job_id = "1", kind = "pro", files = {} }, list[1])
      assert.same({ job_id = "2", status = "DONE", files = { "/a.glb" } }, list[2])
    end)

    it("starts a new line after a line a crash cut short", function()
      local path = dir .. "/jobs.jsonl"
      write(path, '{"job_id":"1","kind":"pro"}\n{"job_id":"1","stat')
      local rec = jobs.open(path)
      assert.is_true(rec:append { job_id = "1", status = "DONE" })
      local list, skipped = rec:read()
      assert.equal(1, skipped)
      assert.same({ job_id = "1", kind = "pro", status = "DONE", files = {} }, list[1])
    end)

    it("reads a missing file as an empty record", function()
      local list, skipped = jobs.open(dir .. "/none/jobs.jsonl"):read()
      assert.same({}, list)
      assert.equal(0, skipped)
    end)

    it("returns nil and a message when it cannot write or read (never raises)", function()
      local file = dir .. "/plain"
      write(file, "x")
      local rec = jobs.open(file .. "/sub/jobs.jsonl")        -- a directory under a regular file
      local ok, err = rec:append { job_id = "1" }
      assert.is_nil(ok)
      assert.is_string(err)
      local list, rerr = jobs.open(dir):read()                -- a directory is no record
      if list then                                           -- some platforms read a directory as empty
        assert.same({}, list)
      else
        assert.is_string(rerr)
      end
    end)

    it("rejects entries without a job_id and bad paths", function()
      local rec = jobs.open(dir .. "/jobs.jsonl")
      assert.has_error(function() rec:append { kind = "pro" } end)
      for _, id in ipairs { 1 / 0, 0 / 0, 2.5, -1, "", true } do
        assert.has_error(function() rec:append { job_id = id } end,
          "hy3d.jobs: an entry needs a job_id (a string, or a whole number)")
      end
      assert.is_true(rec:append { job_id = 12 })
      assert.equal("12", rec:read()[1].job_id)
      assert.has_error(function() jobs.open("") end)
      local ok, err = rec:append { job_id = "1", bad = function() end }
      assert.is_nil(ok)
      assert.matches("encode", err)
    end)
  end)

  describe("privacy", function()
    local function mode(path)
      local p = assert(io.popen("stat -c %a " .. sandbox.shell_quote(path)))
      local m = p:read("*l")
      p:close()
      return m
    end

    it("creates the record owner-only (0600) and the folders it makes 0700, leaving existing ones", function()
      os.execute("chmod 755 " .. sandbox.shell_quote(dir))
      local path = dir .. "/state/hy3d/jobs.jsonl"
      assert.is_true(jobs.open(path):append { job_id = "1", prompt = "a chair" })
      assert.equal("600", mode(path))
      assert.equal("700", mode(dir .. "/state/hy3d"))
      assert.equal("700", mode(dir .. "/state"))
      assert.equal("755", mode(dir), "a folder that existed is left as it was")
      assert.is_true(jobs.open(path):append { job_id = "1", status = "DONE" })
      assert.equal("600", mode(path))
    end)

    it("narrows a record an older version left readable by others", function()
      local path = dir .. "/jobs.jsonl"
      write(path, '{"job_id":"1","kind":"pro"}\n')
      os.execute("chmod 644 " .. sandbox.shell_quote(path))
      assert.is_true(jobs.open(path):append { job_id = "1", status = "DONE" })
      assert.equal("600", mode(path))
      assert.equal("DONE", jobs.open(path):get("1").status)
    end)

    it("never writes through a symbolic link, and refuses a FIFO without blocking", function()
      local target = dir .. "/elsewhere"
      write(target, "untouched")
      assert(os.execute(("ln -s %s %s"):format(sandbox.shell_quote(target), sandbox.shell_quote(dir .. "/link.jsonl"))))
      local ok, err = jobs.open(dir .. "/link.jsonl"):append { job_id = "1" }
      assert.is_nil(ok)
      assert.matches("symbolic link", err)
      assert.equal("untouched", sandbox.read_file(target))
      assert(os.execute("mkfifo " .. sandbox.shell_quote(dir .. "/fifo.jsonl")))
      ok, err = jobs.open(dir .. "/fifo.jsonl"):append { job_id = "1" }
      assert.is_nil(ok)
      assert.is_string(err)
    end)
  end)
end)
