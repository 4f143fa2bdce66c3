-- `hy3d generate --cache DIR` / HY3D_CACHE_DIR / --no-cache and `hy3d cache ls|clear`, run as a user runs them against
-- hy3d-sandbox: a second identical generate sends no request, a damaged entry is fetched again, ls and clear.
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q, read_file, write_file = sandbox.shell_quote, sandbox.read_file, sandbox.write_file
local hy3d, events, of, merge = cli.run, cli.events, cli.of, cli.merge

describe("hy3d generate --cache and hy3d cache", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1 }
  local dir, env, cdir

  before_each(function()
    dir = sandbox.tmpdir()
    cdir = dir .. "/cache"
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
  end)
  after_each(function() os.execute("rm -rf " .. q(dir)) end)

  local function gen(args, extra, cwd)
    local code, out, err = hy3d("generate " .. args .. " --interval 0.05 --json", merge(env, extra), cwd or dir)
    assert.equal(0, code, err)
    return events(out), err
  end

  it("answers the second identical run from the cache: zero requests, the same file, a cached event", function()
    local first = gen("'a brass key' --dir one --cache " .. q(cdir))
    assert.equal(0, #of(first, "cached"))
    local seen = #sb:requests()
    local second = gen("'a brass key' --dir two --cache " .. q(cdir))
    assert.equal(seen, #sb:requests(), "a cache hit sends nothing")
    assert.equal(1, sb:stats().jobs_created)
    local hit = of(second, "cached")[1]
    assert.is_table(hit)
    assert.equal(of(first, "result")[1].job_id, hit.job_id)
    local f1, f2 = of(first, "file")[1], of(second, "file")[1]
    assert.equal(f1.path:gsub("^one/", ""), (f2.path:gsub("^two/", "")))
    assert.equal(read_file(dir .. "/" .. f1.path), read_file(dir .. "/" .. f2.path))
    assert.equal("DONE", of(second, "result")[1].status)
  end)

  it("a cache hit leaves the first job's recorded credits alone: the gallery of its folder still counts them", function()
    local api3 = merge(env, { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = sandbox.secret_id,
                              TENCENTCLOUD_SECRET_KEY = sandbox.secret_key })
    gen("'a brass bell' --door api3 --dir b1 --cache " .. q(cdir), api3)
    assert.equal(1, #of(gen("'a brass bell' --door api3 --dir b2 --cache " .. q(cdir), api3), "cached"))
    local code, _, err = hy3d("gallery b1 --viewer none", env, dir)
    assert.equal(0, code, err)
    local html = assert(read_file(dir .. "/b1/index.html"))
    local credits = tonumber(html:match("<dt>credits</dt><dd>(%d+)</dd>"))
    assert.is_true(credits and credits > 0, html)
  end)

  it("reads HY3D_CACHE_DIR, and --no-cache bypasses it", function()
    gen("'a tin cup'", { HY3D_CACHE_DIR = cdir })
    assert.equal(1, #of(gen("'a tin cup'", { HY3D_CACHE_DIR = cdir }), "cached"))
    assert.equal(1, sb:stats().jobs_created)
    assert.equal(0, #of(gen("'a tin cup' --no-cache", { HY3D_CACHE_DIR = cdir }), "cached"))
    assert.equal(2, sb:stats().jobs_created)
    local code, out, err = hy3d("generate 'a tin cup' --text --interval 0.05", merge(env, { HY3D_CACHE_DIR = cdir }), dir)
    assert.equal(0, code, err)
    assert.matches("from the cache %(job %d+, key %x+%): no request sent, no credits", err)
    assert.matches("saved ", out)
    assert.equal(2, sb:stats().jobs_created)
    code, out, err = hy3d("generate 'a tin cup' --cache x --no-cache", env, dir)
    assert.equal("", out)
    assert.equal(2, code)
    assert.matches("exclude each other", err)
  end)

  it("fetches a damaged entry again with a real job", function()
    gen("'a glass bird' --cache " .. q(cdir))
    local _, names = sandbox.run("ls " .. q(cdir .. "/objects"))
    local obj = cdir .. "/objects/" .. names:match("%x+")
    local data = read_file(obj)
    write_file(obj, data:sub(1, 10) .. "X" .. data:sub(12))
    local list, err = gen("'a glass bird' --cache " .. q(cdir))
    assert.equal(0, #of(list, "cached"))
    assert.equal(2, sb:stats().jobs_created)
    assert.equal(data, read_file(obj), "repaired")
    assert.is_nil(err:find("warning", 1, true), err)
  end)

  it("leaves one whole entry when two runs store the same request at once", function()
    local cmd = cli.command("generate 'a twin vase' --json --interval 0.05 --cache " .. q(cdir), env, dir)
    assert(sandbox.run(("%s > a.out 2>&1 & %s > b.out 2>&1 & wait"):format(cmd, cmd)))
    for _, name in ipairs { "a.out", "b.out" } do
      assert.equal(1, #of(events(read_file(dir .. "/" .. name)), "result"), name)
    end
    local _, leftovers = sandbox.run("cd " .. q(cdir) .. " && ls -A objects entries")
    assert.is_nil(leftovers:find(".tmp-", 1, true), leftovers)
    local seen = #sb:requests()
    assert.equal(1, #of(gen("'a twin vase' --cache " .. q(cdir)), "cached"))
    assert.equal(seen, #sb:requests())
  end)

  it("lists entries (text and JSON) and clears them", function()
    gen("'a stone owl' --cache " .. q(cdir))
    gen("'a wooden horse' --format glb,stl --cache " .. q(cdir))
    local code, out, err = hy3d("cache ls --json --cache " .. q(cdir), env, dir)
    assert.equal(0, code, err)
    local list = of(events(out), "cache_entry")
    assert.equal(2, #list)
    assert.equal("a stone owl", list[1].prompt)
    assert.equal("pro", list[1].kind)
    assert.equal(64, #list[1].key)
    assert.equal(2, #list[2].files)
    assert.is_true(list[2].bytes > 0)
    code, out = hy3d("cache ls", merge(env, { HY3D_CACHE_DIR = cdir }), dir)
    assert.equal(0, code)
    assert.matches("^KEY%s+KIND%s+AGE%s+FILES%s+SIZE%s+PROMPT\n", out)
    assert.matches(list[2].key:sub(1, 12) .. "%s+pro%s+now%s+GLB,STL%s+[%d.]+ [KMG]?B%s+a wooden horse\n", out)
    code, out, err = hy3d("cache clear --older-than 1 --json --cache " .. q(cdir), env, dir)
    assert.equal(0, code, err)
    assert.equal(0, of(events(out), "cache_cleared")[1].removed)
    code, out = hy3d("cache clear --cache " .. q(cdir), env, dir)
    assert.equal(0, code)
    assert.matches("^removed 2 entries", out)
    code, out = hy3d("cache ls --json --cache " .. q(cdir), env, dir)
    assert.equal(0, code)
    assert.equal("", out)
  end)

  it("says what is wrong with its arguments, exit 2", function()
    for _, args in ipairs { "cache", "cache ls", "cache rm --cache x", "cache ls --older-than 2 --cache x",
                            "cache clear --older-than soon --cache x" } do
      local code, out, err = hy3d(args, env, dir)
      assert.equal(2, code, args)
      assert.equal("", out)
      assert.matches("^hy3d", err)
      cli.speaks_cli(err)
    end
    local code, out = hy3d("cache --help", env, dir)
    assert.equal(0, code)
    assert.matches("^usage: hy3d cache ls", out)
    code, out = hy3d("generate --help", env, dir)
    assert.equal(0, code)
    assert.matches("%-%-no%-cache", out)
  end)
end)
