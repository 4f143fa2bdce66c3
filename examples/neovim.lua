--[[ neovim.lua — hy3d in Neovim: a job runs on the editor's own loop (vim.loop, luv) while the editor stays responsive.

Usage: nvim --headless --clean -c "luafile examples/neovim.lua" [prompt and out_dir in HY3D_PROMPT, HY3D_OUT]

hy3d.use(vim.uv or vim.loop) hands hy3d to the libuv loop Neovim already runs (vim.uv from 0.10,
vim.loop before; both are luv): one hy3d.spawn task generates a model while a Vim timer edits a
scratch buffer every 50 ms and g:hy3d_status says how far the job is (an RPC client can read it:
nvim --server ADDR --remote-expr g:hy3d_status). hy3d's work runs in luv callbacks, Neovim's
"fast" context, where vim.api may not be called: the task hands what it learned to the editor
with vim.schedule. The script waits with vim.wait (the editor keeps running), writes one result
line on stdout and quits (exit 1 on an error). Neovim runs LuaJIT: it loads the LuaJIT build of
hy3d.core (build/luajit) and Debian's lua-cjson for Lua 5.1.
Run it from the top of a checkout against hy3d-sandbox (no key or network needed):
  $ make LUA_VERSION=jit
  $ HY3D_OUT=out/neovim scripts/with-sandbox nvim --headless --clean -c "luafile examples/neovim.lua"

Environment: HY3D_BASE_URL, HY3D_API_KEY (or TENCENTCLOUD_SECRET_ID/_KEY), HY3D_PROMPT (default
"a brass lantern"), HY3D_OUT (default out/neovim), HY3D_POLL_INTERVAL (seconds, default 1),
HY3D_LUA_PATH / HY3D_CPATH (prepended to package.path / package.cpath; default this checkout's
lua/ and build/luajit/).
]]
-- luacheck: globals vim

local function env(name, default)
  local v = os.getenv(name)
  if v and v ~= "" then return v end
  return default
end

-- Where hy3d lives: this checkout (or HY3D_LUA_PATH / HY3D_CPATH).
do
  local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
  local root = here .. "/.."
  package.path = env("HY3D_LUA_PATH", root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua") .. ";" .. package.path
  package.cpath = env("HY3D_CPATH", root .. "/build/luajit/?.so") .. ";" .. package.cpath
end

-- The whole run; true when the model was saved. An error quits the editor too (exit 1), not only the script.
local function main()
  local hy3d = require "hy3d"

  local uv = vim.uv or vim.loop                    -- vim.uv: Neovim 0.10+; vim.loop before (both luv)
  local TICK_MS = 50
  local adapter = hy3d.use(uv)                     -- "luv"
  local client = hy3d.new { poll_interval = tonumber(env("HY3D_POLL_INTERVAL", "1")) }

  -- The editor's side: a scratch buffer a Vim timer edits, and g:hy3d_status for RPC clients.
  local buf = vim.api.nvim_create_buf(false, true)
  local state = { status = "starting", ticks = 0, ticks_in_job = 0, max_gap_ms = 0 }
  local last = uv.hrtime()
  vim.g.hy3d_status = "starting"
  local timer = vim.fn.timer_start(TICK_MS, function()
    local t = uv.hrtime()
    state.max_gap_ms = math.max(state.max_gap_ms, (t - last) / 1e6)
    last, state.ticks = t, state.ticks + 1
    if state.running then state.ticks_in_job = state.ticks_in_job + 1 end
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, { ("tick %d: %s"):format(state.ticks, state.status) })
  end, { ["repeat"] = -1 })

  -- Called through vim.schedule from the task: the editor's own context, where vim.api is allowed.
  local function show(status)
    state.status = status
    vim.g.hy3d_status = status
  end

  local function cpu_seconds()
    local r = uv.getrusage()
    return r.utime.sec + r.utime.usec / 1e6 + r.stime.sec + r.stime.usec / 1e6
  end

  local t0, cpu0 = uv.hrtime(), cpu_seconds()
  state.running = true
  hy3d.spawn(function()                            -- runs in luv callbacks (fast context): no vim.api here
    local out, err = client:generate(env("HY3D_PROMPT", "a brass lantern"), {
      dir = env("HY3D_OUT", "out/neovim"), name = "lantern",
      on_status = function(r) vim.schedule(function() show(r.Status) end) end,
    })
    vim.schedule(function()
      state.running = false
      state.out, state.err = out, err
      show(out and "saved" or "failed")
    end)
  end)

  local finished = vim.wait(600000, function() return not state.running end, 20)
  local wall, cpu = (uv.hrtime() - t0) / 1e9, cpu_seconds() - cpu0
  vim.fn.timer_stop(timer)
  local text = vim.api.nvim_buf_get_lines(buf, 0, -1, false)[1] or ""
  local f = state.out and state.out.files[1]
  io.stdout:write(("adapter=%s status=%s job=%s file=%s bytes=%s wall=%.3f cpu=%.3f ticks=%d ticks_in_job=%d "
    .. "max_gap_ms=%.1f buffer=%s%s\n"):format(tostring(adapter), finished and state.status or "timeout",
    tostring(state.out and state.out.job.JobId), tostring(f and f.path), tostring(f and f.bytes), wall, cpu,
    state.ticks, state.ticks_in_job, state.max_gap_ms, (text:gsub("%s", "_")),
    state.err and (" error=" .. tostring(state.err)) or ""))
  io.stdout:flush()
  client:close()
  hy3d.use(nil)                                    -- closes hy3d's watchers on the editor's loop
  return state.out ~= nil
end

local ok, saved = xpcall(main, debug.traceback)
if not ok then io.stderr:write("neovim.lua: ", tostring(saved), "\n") end
vim.cmd((ok and saved) and "qall!" or "cquit! 1")
