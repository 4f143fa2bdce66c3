-- The documentation is executable: every Lua block and shell command of README.md, of each doc/*.md
-- page and of each example's header comment runs as written against hy3d-sandbox, or is listed here
-- with the reason it cannot run here. A new block (or page) that neither runs nor is listed fails
-- this spec; so does a link between the documents that reaches no file or no heading.
local readme = require "spec.support.readme"
local sandbox = require "spec.support.sandbox"
local images = require "spec.support.images"
local binary = require "spec.support.binary"

local ROOT = assert(os.getenv("PWD"))
local LUA = sandbox.lua()                -- Lua blocks run under the suite's interpreter
local q = sandbox.shell_quote

-- What a user's shell may hold that would change what a block does: children start without it,
-- and get only what the README tells a user to set (or what scripts/with-sandbox sets).
local UNSET = { "HY3D_API_KEY", "HY3D_BASE_URL", "HY3D_ENDPOINT", "TENCENTCLOUD_SECRET_ID",
                "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_REGION",
                "LUA_PATH", "LUA_CPATH", "LUA_PATH_5_1", "LUA_CPATH_5_1", "LUA_PATH_5_2", "LUA_CPATH_5_2",
                "LUA_PATH_5_3", "LUA_CPATH_5_3", "LUA_PATH_5_4", "LUA_CPATH_5_4", "HY3D_JOBS_FILE",
                "XDG_STATE_HOME", "SANDBOX_ARGS", "SANDBOX_LUA", "PROMPT", "HY3D_CPATH", "HY3D_LUA_PATH",
                "HY3D_TEST_LUA", "HY3D_SANDBOX_LUA", "HY3D_SANDBOX_CPATH", "HY3D_SANDBOX_KEYS",
                "HY3D_SANDBOX_FAULTS", "HY3D_SANDBOX_SECRET_ID", "HY3D_SANDBOX_SECRET_KEY", "HY3D_PROMPT",
                "HY3D_OUT", "HY3D_FACE_COUNT", "HY3D_POLL_INTERVAL", "HY3D_HEADLESS_FRAMES", "HY3D_SITE", "HY3D_DOOR",
                "HY3D_SANDBOX_INTL_SECRET_ID", "HY3D_SANDBOX_INTL_SECRET_KEY", "HY3D_CACHE_DIR" }
-- The sandbox's job timings for the runs (the user's own default is 1 s + 3 s): jobs are DONE at
-- once, so a block's `interval = 5` costs nothing. A property of the sandbox, not of the block.
local SANDBOX_ARGS = "--wait-s 0 --run-s 0"
local DEADLINE = 120                     -- seconds a block may take; a hang fails instead of blocking
local MAKE_DEADLINE = 600                -- blocks that may compile (make LUA_VERSION=5.1 on a cold tree)
-- What blocks that run tarantool also unset: under `make test-asan` every child inherits the
-- sanitizer runtimes in LD_PRELOAD, and tarantool hangs at startup under them (its fibers switch
-- stacks). It loads the plain LuaJIT build of hy3d.core either way, never the sanitizer build.
local TARANTOOL_UNSET = { "LD_PRELOAD" }

local function png() return images.png(512, 512) end

local function is_glb(path)
  local data = sandbox.read_file(path)
  return data ~= nil and data:sub(1, 4) == "glTF"
end

local function stl_ok(path)
  local stl = sandbox.read_file(path)
  return stl ~= nil and #stl > 84 and #stl == 84 + 50 * binary.u32le(stl, 81)
end

-- The quick start's gateway block: one generate call, then a line naming what it saved.
local function check_generate(dir, out, _, block)
  if block.kind == "lua" then   -- its comment shows what it prints
    assert.matches("%-%- prints: <JobId>  models/chair%.glb  models/chair_obj\n", block.code)
  end
  assert.matches("%d+\tmodels/chair%.glb\tmodels/chair_obj\n", out)
  assert.is_true(is_glb(dir .. "/models/chair.glb"))
  assert.matches("\nv ", sandbox.read_file(dir .. "/models/chair_obj/model.obj"))
end
local function check_steps(dir, out)
  assert.matches("GLB\thttp://", out)
  assert.is_true(is_glb(dir .. "/chair.glb"))
end
local function check_api3(dir)
  assert.is_true(stl_ok(dir .. "/teapot.stl"))
end

local QS = "README.md § Quick start #"

--- Every block that needs more than "run it" is here, by id ("FILE § HEADING #N", the N-th Lua or
-- shell block under that heading; an example's `$ ` lines are "FILE header"). Fields:
--   skip = reason           the block cannot run here at all
--   skip_lines = { [line] = reason }  it runs without these lines (each must be in the block)
--   cwd = "checkout"        run from (a copy of) the checkout, as the README implies; default a temp
--                           folder (an example's header: the checkout, as each one says)
--   sandbox = true          a shell block run under scripts/with-sandbox (a Lua block always is)
--   installed = true        `hy3d` is on PATH, as after an install
--   files = { [name] = function -> content }  files the text says the user has
--   each = function(blocks_by_id) -> list of files tables: run once with each
--   prelude, epilogue       Lua around the block: the host the text says it runs in
--   check = function(dir, out)   what the text says the block does
--   deadline                seconds (default DEADLINE)
--   sandbox_args            hy3d-sandbox options added to SANDBOX_ARGS for this block
--   unset = { name, ... }   more variables the block runs without (beside UNSET)
local BLOCKS = {
  ["README.md § hy3d #1"] = {
    skip_lines = { ["make test"] = "it is the suite that runs this spec" },
    cwd = "checkout", deadline = MAKE_DEADLINE,
    check = function(dir)
      assert.is_true(is_glb(dir .. "/out/a-small-wooden-chair.glb"), "make demo writes the model under out/")
    end,
  },
  [QS .. "1"] = { check = check_generate },
  [QS .. "2"] = { check = check_steps },
  [QS .. "3"] = { check = check_api3 },
  [QS .. "4"] = {                  -- "Save any of these as quickstart.lua and run it"
    cwd = "checkout", deadline = MAKE_DEADLINE,
    each = function(by_id)
      local sets = {}
      for i = 1, 3 do sets[i] = { ["quickstart.lua"] = by_id[QS .. i].script } end
      return sets
    end,
    check = function(dir, out, i, block)
      ({ check_generate, check_steps, check_api3 })[i](dir, out, i, block)
    end,
  },
  ["README.md § With make #1"] = {
    skip_lines = {
      ["make install              # PREFIX=/usr/local; also LIBDIR, LUADIR, BINDIR, DESTDIR, LUA_VERSION"] =
        "installs into /usr/local (needs root; spec/tooling/install_spec.lua checks installs into temporary trees)",
      -- nil (the line runs) where Lua 5.1's headers are installed
      ["make LUA_VERSION=5.1      # 5.1, 5.2, 5.3 or jit: builds build/lua5.1/hy3d/core.so (build/luajit/…)"] =
        not sandbox.exists("/usr/include/lua5.1/lua.h")
        and "Lua 5.1's headers are not installed (make test installs 5.4's; make test LUA_VERSION=5.1 adds them)" or nil,
    },
    cwd = "checkout", deadline = MAKE_DEADLINE,
  },
  ["README.md § With make #3"] = {         -- a staged install and its uninstall, in the folder
    cwd = "checkout", deadline = MAKE_DEADLINE,
    check = function(dir)
      local p = assert(io.popen("find " .. q(dir .. "/stage") .. " -mindepth 1"))
      local left = p:read("*a")
      p:close()
      assert.truthy(sandbox.exists(dir .. "/stage"), "make install made stage/")
      assert.equal("", left)                 -- "stage/ is empty again"
    end,
  },
  ["README.md § With LuaRocks #1"] = {
    skip = "installs into the system's rock tree and runs the whole suite (spec/tooling/install_spec.lua and "
      .. "rockspec_spec.lua run luarocks make into temporary trees, and luarocks test on specs of their own)",
  },
  ["doc/api.md § `hy3d.image(path [, opts]) -> base64, info | nil, err` #1"] = {
    files = { ["photo.png"] = png },
  },
  ["doc/api.md § `hy3d.views(map [, opts]) -> MultiViewImages | nil, err` #1"] = {
    files = { ["photo.png"] = png, ["front.png"] = png, ["left.png"] = png, ["back.png"] = png },
  },
  ["doc/api.md § Families added at run time #1"] = {
    -- the sandbox the text names: one started with --family animation=... (added through its
    -- control endpoint, as scripts/with-sandbox starts the same sandbox for every block)
    prelude = [[
do
  local body = '{"name":"animation","submit":"SubmitCharacterToAnimationJob","query":"DescribeCharacterToAnimationJob"}'
  local _, code = require("socket.http").request { url = os.getenv("HY3D_ENDPOINT") .. "/_sandbox/families",
    method = "POST", source = require("ltn12").source.string(body),
    headers = { ["Content-Type"] = "application/json", ["Content-Length"] = #body } }
  assert(code == 200, "the sandbox did not take the family")
end
]],
    check = function(dir, out)
      assert.matches("FBX\tanimation/[^\n]+%.fbx\n", out)
      assert.is_true(sandbox.exists(dir .. "/animation"))
    end,
  },
  ["README.md § The `hy3d` command #1"] = {
    skip_lines = { ["export HY3D_API_KEY=sk-...                      # or TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY"] =
                   "a placeholder key: scripts/with-sandbox gives the sandbox's credentials instead" },
    sandbox = true, installed = true,
    files = { ["photo.png"] = png, ["left.png"] = png },
    check = function(dir)
      assert.is_true(is_glb(dir .. "/chair.glb"))
      assert.is_true(is_glb(dir .. "/out/a-wooden-chair.glb"))
      assert.is_true(is_glb(dir .. "/photo.glb"))
      assert.is_true(is_glb(dir .. "/out/a_red_teapot/a_red_teapot.glb"))         -- hy3d batch, then the gallery
      assert.truthy(sandbox.read_file(dir .. "/out/index.html"):find("a_red_teapot.glb", 1, true))
    end,
  },
  ["doc/game-loops.md § Using hy3d in a game loop #1"] = {
    -- the host the text names: LÖVE, whose main loop runs inside a coroutine and calls
    -- love.update once per frame
    prelude = "love = {}\n",
    epilogue = [[
local socket = require "socket"
local frame = coroutine.wrap(function()
  while true do love.update(1 / 60); coroutine.yield() end
end)
local deadline = socket.gettime() + 60
while status ~= "saved barrel.glb" and socket.gettime() < deadline do
  frame()
  socket.sleep(1 / 60)
end
print("status: " .. status)
]],
    check = function(dir, out, _, block)
      assert.is_nil(block.code:find("ResultFile3Ds%[%d"), "the GLB is picked by its Type, not its place in the list")
      assert.matches("status: saved barrel.glb", out)
      assert.is_true(is_glb(dir .. "/barrel.glb"))
    end,
  },
  ["doc/doors.md § The gateway #1"] = {
    check = function(dir, out)
      assert.matches("\ngateway\t%d+\tmodels/chair%.glb\n", out)
      assert.is_true(is_glb(dir .. "/models/chair.glb"))
    end,
  },
  ["doc/doors.md § API 3.0 (`api3`) #1"] = {
    check = function(dir, out)
      assert.matches("\napi3\t%d+\tmodels/teapot%.glb\n", out)
      assert.is_true(is_glb(dir .. "/models/teapot.glb"))
    end,
  },
  ["doc/doors.md § Quick start: a self-hosted server #1"] = {
    files = { ["chair.png"] = png },
    check = function(dir, out)
      assert.matches("GLB\tmodels/chair%.glb\nINITIAL_GLB\tmodels/chair_initial_glb%.glb\n", out)
      assert.is_true(is_glb(dir .. "/models/chair.glb"))
      assert.is_true(is_glb(dir .. "/models/chair_initial_glb.glb"))
    end,
  },
  ["README.md § The `hy3d-sandbox` emulator #1"] = {
    skip = "runs hy3d-sandbox in the foreground until Ctrl-C (every spec starts one through spec/support/sandbox.lua)",
  },
  ["doc/doors.md § API 3.0, international site #1"] = {   -- the sandbox's mainland pair is intl too here
    sandbox_args = "--intl-secret-id AKIDhy3dSandboxSecretId0000000000 --intl-secret-key hy3dSandboxSecretKey000000000000",
    check = function(dir, out)
      assert.matches("\nintl\tmodels/chair%.glb\n", out)
      assert.is_true(is_glb(dir .. "/models/chair.glb"))
    end,
  },
  ["doc/hosts.md § OpenResty / nginx #1"] = {
    skip = "a handler module for nginx (ngx); spec/hosts/openresty_spec.lua runs examples/openresty's, which does the same",
  },
  ["doc/hosts.md § OpenResty / nginx #2"] = {
    skip = "runs inside nginx (ngx.run_worker_thread); spec/hosts/openresty_spec.lua runs examples/openresty's /blocking",
  },
  ["doc/hosts.md § OpenResty / nginx #3"] = {
    skip = "runs nginx in the foreground until Ctrl-C; spec/hosts/openresty_spec.lua runs this nginx.conf",
  },
  ["doc/sandbox.md § Faults #1"] = {
    skip = "runs hy3d-sandbox in the foreground until Ctrl-C (spec/sandbox/faults_spec.lua checks these rules)",
  },
  ["examples/love/main.lua header"] = {
    skip_lines = { ['HY3D_PROMPT="a wooden barrel" scripts/with-sandbox love examples/love'] =
                   "opens a window (no display here); the line after it runs the same game headless" },
    cwd = "checkout", deadline = MAKE_DEADLINE,
    check = function(dir, out)
      assert.matches("status=DONE job=%d+ file=out/a%-wooden%-barrel%.glb", out)
      assert.is_true(is_glb(dir .. "/out/a-wooden-barrel.glb"))
    end,
  },
  ["doc/hosts.md § Tarantool #1"] = {
    skip = "an app for tarantool (fibers), which never exits on its own; spec/hosts/tarantool_spec.lua runs "
      .. "examples/tarantool.lua, the same fibers, in a real tarantool",
  },
  ["examples/tarantool.lua header"] = {
    cwd = "checkout", deadline = MAKE_DEADLINE, unset = TARANTOOL_UNSET,
    check = function(dir, out)
      assert.matches("adapter=tarantool jobs=5 done=5 failed=0", out)
      assert.is_true(is_glb(dir .. "/out/tarantool/lantern-5.glb"))
    end,
  },
  ["doc/hosts.md § Tarantool #2"] = {
    cwd = "checkout", deadline = MAKE_DEADLINE, unset = TARANTOOL_UNSET,
    check = function(dir, out)
      assert.matches("adapter=tarantool jobs=5 done=5 failed=0", out)
      assert.is_true(is_glb(dir .. "/out/tarantool/lantern-5.glb"))
    end,
  },
  ["doc/hosts.md § Neovim #1"] = {
    skip = "editor code (vim.api, a user command) for Neovim's init.lua; spec/hosts/neovim_spec.lua runs "
      .. "examples/neovim.lua, the same task and vim.schedule, in a real nvim",
  },
  ["doc/hosts.md § Neovim #2"] = {
    cwd = "checkout", deadline = MAKE_DEADLINE,
    check = function(dir, out)
      assert.matches("adapter=luv status=saved job=%d+ file=out/neovim/lantern%.glb", out)
      assert.is_true(is_glb(dir .. "/out/neovim/lantern.glb"))
    end,
  },
  ["doc/doors.md § Media Processing (MPS) #1"] = {
    check = function(dir, out)   -- the sandbox runs jobs at once here: one status, DONE at 100
      assert.matches("DONE\t100\n%x+%-[%x%-]+\tmodels/chair%.glb\n", out)
      assert.is_true(is_glb(dir .. "/models/chair.glb"))
    end,
  },
}

-- The Lua blocks that go on from another (they start with "-- continues the block above"),
-- with the block they continue.
local CONTINUES = {
  ["doc/api.md § `hy3d.views(map [, opts]) -> MultiViewImages | nil, err` #1"] =
    "doc/api.md § `hy3d.image(path [, opts]) -> base64, info | nil, err` #1",
}

-- The pages linked from README.md that another change of the same release writes: listed so the
-- link check passes before that page lands, and failing once it exists (then remove it here).
local PENDING = {}

-- The documents whose blocks run: README.md first, then every doc/*.md page in name order.
local function documents()
  local list = { "README.md" }
  local p = io.popen("cd " .. q(ROOT) .. " && ls doc/*.md 2>/dev/null")
  for path in p:lines() do list[#list + 1] = path end
  p:close()
  return list
end

-- Every example and the documents whose blocks run.
local function examples()
  local list = {}
  local p = io.popen("cd " .. q(ROOT) .. " && ls examples/*.lua examples/*/main.lua")
  for path in p:lines() do list[#list + 1] = path end
  p:close()
  return list
end

local function all_blocks()
  local blocks = {}
  for _, doc in ipairs(documents()) do
    for _, b in ipairs(readme.markdown(assert(sandbox.read_file(ROOT .. "/" .. doc)), doc)) do
      blocks[#blocks + 1] = b
    end
  end
  for _, path in ipairs(examples()) do
    local b = readme.example(assert(sandbox.read_file(ROOT .. "/" .. path)), path)
    if b then blocks[#blocks + 1] = b end
  end
  return blocks
end

-- A folder that stands for the checkout: a link to each of its top-level entries (build/
-- included, so `make` finds what `make test` built), but the block's own files and outputs
-- (out/, quickstart.lua) land in the folder, never in the real checkout.
local function checkout_copy()
  local dir = sandbox.tmpdir()
  assert(sandbox.run(("cd %s && for f in * .busted .luacheckrc; do [ -e \"$f\" ] && [ \"$f\" != out ] && "
    .. "ln -s %s/\"$f\" %s/\"$f\"; done; true"):format(q(ROOT), q(ROOT), q(dir))))
  return dir
end

-- `hy3d` on PATH as after an install: the command with the suite's modules, under the suite's Lua.
local function installed_bin()
  local bin = sandbox.tmpdir()
  sandbox.write_file(bin .. "/hy3d", ("#!/bin/sh\nexec env %s %s %s \"$@\"\n"):format(
    sandbox.lua_env(), LUA, q(ROOT .. "/bin/hy3d")))
  assert(sandbox.run("chmod +x " .. q(bin .. "/hy3d")))
  return bin
end

-- Removes the listed lines (each must be in the block: a stale entry fails).
local function without(code, skip_lines, id)
  for line, reason in pairs(skip_lines or {}) do
    assert(type(reason) == "string" and reason ~= "", id .. ": a skipped line needs its reason")
    local lines, found = {}, false
    for l in code:gmatch("(.-)\n") do
      if l == line then found = true else lines[#lines + 1] = l end
    end
    assert(found, ("%s: the listed line %q is no longer in the block"):format(id, line))
    code = table.concat(lines, "\n") .. "\n"
  end
  return code
end

-- Runs one block in a fresh folder; returns ok, output, exit code, folder.
local function run(block, entry, files)
  local dir = (entry.cwd or block.cwd) == "checkout" and checkout_copy() or sandbox.tmpdir()
  for name, content in pairs(files or {}) do
    if type(content) == "function" then content = content() end
    sandbox.write_file(dir .. "/" .. name, content)
  end
  local cmd
  if block.kind == "lua" then
    sandbox.write_file(dir .. "/block.lua", (entry.prelude or "") .. block.script .. (entry.epilogue or ""))
    cmd = ("%s/scripts/with-sandbox env %s %s block.lua"):format(q(ROOT), sandbox.lua_env(), LUA)
  else
    sandbox.write_file(dir .. "/block.sh", without(block.script, entry.skip_lines, block.id))
    cmd = (entry.sandbox and (q(ROOT) .. "/scripts/with-sandbox ") or "") .. "sh -e block.sh"
  end
  local path, bin = os.getenv("PATH"), nil
  if entry.installed then bin = installed_bin(); path = bin .. ":" .. path end
  local unset = {}
  for _, v in ipairs(UNSET) do unset[#unset + 1] = "-u " .. v end
  for _, v in ipairs(entry.unset or {}) do unset[#unset + 1] = "-u " .. v end
  local deadline = entry.deadline or DEADLINE
  local ok, out, code = sandbox.run(("cd %s && env %s PATH=%s SANDBOX_ARGS=%s HY3D_JOBS_FILE=%s timeout -k 5 %d %s"):format(
    q(dir), table.concat(unset, " "), q(path), q(SANDBOX_ARGS .. (entry.sandbox_args and (" " .. entry.sandbox_args) or "")),
    q(dir .. "/jobs.jsonl"), deadline, cmd))
  if bin then os.execute("rm -rf " .. q(bin)) end
  if code == 124 or code == 137 then
    out = ("did not finish within %d s (a hang?)\n%s"):format(deadline, out)
  end
  return ok, out, code, dir
end

describe("the documentation", function()
  local blocks = all_blocks()
  local by_id = {}
  for _, b in ipairs(blocks) do by_id[b.id] = b end

  it("has the blocks this spec knows, and every example says how to run it", function()
    for id in pairs(BLOCKS) do
      assert(by_id[id], ("spec/tooling/readme_spec.lua lists %q, which is no longer a block (update the list)"):format(id))
    end
    for id, parent in pairs(CONTINUES) do
      assert(by_id[id], id)
      assert.equal(parent, by_id[id].continues, id .. " continues " .. parent)
    end
    for _, b in ipairs(blocks) do
      if b.continues then
        assert(CONTINUES[b.id], ("%s:%d says it continues the block above (%s): list it in CONTINUES"):format(
          b.file, b.line, b.continues))
      end
    end
    for _, path in ipairs(examples()) do
      assert(by_id[path .. " header"], path .. "'s header comment has no `$ ` command saying how to run it")
    end
    for id, entry in pairs(BLOCKS) do
      if entry.skip then assert(type(entry.skip) == "string" and #entry.skip > 10, id .. ": a skip needs its reason") end
    end
  end)

  it("reads every doc/*.md page, and README.md links to each", function()
    local docs = documents()
    local listed = {}
    for _, b in ipairs(blocks) do listed[b.file] = true end
    local readme_text = assert(sandbox.read_file(ROOT .. "/README.md"))
    local links = {}
    for _, l in ipairs(readme.links(readme_text)) do links[l.path] = true end
    for i = 2, #docs do
      assert(links[docs[i]], ("README.md does not link to %s: add it to its list of pages"):format(docs[i]))
    end
    for path, reason in pairs(PENDING) do
      assert(type(reason) == "string" and reason ~= "", path .. ": a pending page needs its reason")
      assert(not sandbox.exists(ROOT .. "/" .. path),
        ("%s exists now: remove it from PENDING in spec/tooling/readme_spec.lua"):format(path))
    end
    assert(#docs > 1 and listed[docs[2]], "the blocks of the doc/*.md pages are run")
  end)

  it("finds links and GitHub's anchors as GitHub does", function()
    local text = table.concat({
      "# The `hy3d` command", "## `hy3d.new(opts) -> client`", "# Which credentials: the door", "# A", "# A",
      "```sh", "# not a heading [x](nowhere.md)", "```",
      "See [one](api.md#errors), [two](#a-1), `[code](no.md)` and [web](https://example.com/x).",
    }, "\n")
    local set = readme.anchors(text)
    for _, a in ipairs { "the-hy3d-command", "hy3dnewopts---client", "which-credentials-the-door", "a", "a-1" } do
      assert(set[a], a)
    end
    assert.is_nil(set["not-a-heading-xnowheremd"])
    local links = readme.links(text)
    assert.same({ { target = "api.md#errors", path = "api.md", anchor = "errors", line = 9 },
                  { target = "#a-1", path = "", anchor = "a-1", line = 9 } }, links)
    assert.equal("BENCHMARKS.md", readme.join("doc", "../BENCHMARKS.md"))
    assert.equal("doc/api.md", readme.join("", "./doc/api.md"))
  end)

  it("links only to files and headings that exist", function()
    local anchors = {}                 -- document -> set of its headings' anchors
    local function anchors_of(path)
      if not anchors[path] then
        local text = sandbox.read_file(ROOT .. "/" .. path)
        anchors[path] = text and readme.anchors(text) or {}
      end
      return anchors[path]
    end
    for _, doc in ipairs(documents()) do
      local dir = doc:match("^(.*)/") or ""
      for _, l in ipairs(readme.links(assert(sandbox.read_file(ROOT .. "/" .. doc)))) do
        local path = l.path == "" and doc or readme.join(dir, l.path)
        local where = ("%s:%d: the link (%s)"):format(doc, l.line, l.target)
        if not PENDING[path] then
          assert(sandbox.exists(ROOT .. "/" .. path), where .. " names no file")
          if l.anchor and path:match("%.md$") then
            assert(anchors_of(path)[l.anchor], ("%s names no heading of %s"):format(where, path))
          end
        end
      end
    end
  end)

  it("shows the two commands first", function()
    local first = assert(sandbox.read_file(ROOT .. "/README.md")):match("```sh\n(.-)```")
    assert.equal("make test\nmake demo\n", first)
  end)

  -- PUC Lua 5.1's assert takes only a string message: assert(client:submit{...}) would hide
  -- hy3d's error there. The documentation shows hy3d.assert, or a file makes it its assert.
  it("uses hy3d.assert for hy3d's `nil, err` returns", function()
    local function check(code, where)
      if code:match("local assert = hy3d%.assert") then return end
      for line in code:gmatch("[^\n]+") do
        assert(not line:match("%f[%w_.:]assert%(%s*client[:.]") and not line:match("%f[%w_.:]assert%(%s*hy3d%."),
          ("%s: plain assert around a hy3d call (use hy3d.assert): %s"):format(where, line))
      end
    end
    for _, b in ipairs(blocks) do
      if b.kind == "lua" then check(b.code, ("%s:%d"):format(b.file, b.line)) end
    end
    for _, path in ipairs(examples()) do check(assert(sandbox.read_file(ROOT .. "/" .. path)), path) end
  end)

  for _, block in ipairs(blocks) do
    local entry = BLOCKS[block.id] or {}
    if not entry.skip then
      it(("%s (%s:%d) runs as written"):format(block.id, block.file, block.line), function()
        local sets = entry.each and entry.each(by_id) or { entry.files or {} }
        for i, files in ipairs(sets) do
          local ok, out, _, dir = run(block, entry, files)
          assert(ok, ("%s:%d failed as written (run it, fix it, or list it in spec/tooling/readme_spec.lua with "
            .. "the reason it cannot run here):\n%s"):format(block.file, block.line, out))
          if entry.check then entry.check(dir, out, i, block) end
          os.execute("rm -rf " .. q(dir))
        end
      end)
    end
  end
end)
