--- hy3d.hosts.ngx: the OpenResty / nginx ngx_lua adapter (hy3d.use(ngx)): in the request phases that
-- may yield, hy3d waits with ngx.sleep, paced by the engine's timeout and capped (max_wait), so the
-- worker keeps serving; in the phases that cannot yield, a call gets a usage error
-- (PHASE_CANNOT_YIELD) instead of blocking the worker. Requires no other hy3d module.
local M = {}

-- The phases whose code ngx.sleep may run in (ngx_lua's "context" of ngx.sleep: rewrite_by_lua*,
-- access_by_lua*, content_by_lua*, ngx.timer.*, and the SSL phases that allow it). ngx.get_phase()
-- names them.
M.YIELDING = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

-- Defaults: the longest wait between two looks at the transfers (nothing tells nginx when
-- libcurl's sockets are readable, so hy3d looks again at least this often), and the shortest
-- (ngx.sleep's resolution is 1 ms; above 0 so a wait always goes through nginx's event loop).
M.MAX_WAIT = 0.01
M.MIN_WAIT = 0.001

-- What each phase that cannot yield should do instead.
local INSTEAD = {
  init = "start the work from a content_by_lua handler, or from ngx.timer.at in init_worker_by_lua",
  init_worker = "start it with ngx.timer.at(0, fn) and call hy3d inside fn",
  exit_worker = "finish the work before the worker exits",
}
local DEFAULT_INSTEAD = "call it from content_by_lua, access_by_lua or rewrite_by_lua, or start it with "
  .. "ngx.timer.at(0, fn) (in log_by_lua too) and call hy3d inside fn"

--- The usage error of a call made in `phase`, a phase that cannot yield.
function M.phase_error(phase)
  phase = tostring(phase)
  return {
    kind = "usage", code = "PHASE_CANNOT_YIELD", phase = phase,
    message = ("ngx_lua's %s phase cannot yield (no ngx.sleep there), and hy3d will not block the "
      .. "nginx worker: %s"):format(phase, INSTEAD[phase] or DEFAULT_INSTEAD),
  }
end

-- Checks the options of hy3d.use(ngx, opts): nil or { max_wait = seconds } (> 0, at most 1 s).
local function check(opts)
  if opts == nil then return M.MAX_WAIT end
  if type(opts) ~= "table" then error("hy3d.use(ngx, opts): opts must be a table such as { max_wait = 0.01 }", 4) end
  for k in pairs(opts) do
    if k ~= "max_wait" then error(("hy3d.use(ngx, opts): unknown option %q (it takes max_wait)"):format(tostring(k)), 4) end
  end
  local cap = opts.max_wait
  if cap == nil then return M.MAX_WAIT end
  if type(cap) ~= "number" or cap ~= cap or cap < M.MIN_WAIT or cap > 1 then
    error(("hy3d.use(ngx, opts): max_wait must be a number of seconds from %g to 1, got %s"):format(M.MIN_WAIT,
      tostring(cap)), 4)
  end
  return cap
end

--- The seconds one wait sleeps for a delay hint (the engine's timeout; nil: none): the hint, at
-- most cap, at least MIN_WAIT.
function M.pace(delay, cap)
  local d = tonumber(delay) or cap
  if d ~= d or d > cap then d = cap end
  if d < M.MIN_WAIT then d = M.MIN_WAIT end
  return d
end

--- Whether lib looks like ngx_lua's ngx table.
function M.detect(lib)
  return type(lib) == "table" and type(lib.get_phase) == "function" and type(lib.sleep) == "function"
    and type(lib.say) == "function"
end

--- The adapter for hy3d.scheduler.adapter: waiter(tr) says how a call made now waits (ngx.sleep
-- in a phase that may yield, else false and the usage error); sleep(s) is how the pump
-- (hy3d.step, hy3d.run) waits for work: true after an ngx.sleep, false where the phase cannot
-- yield (the pump then refuses to block: see hy3d.scheduler.step). make_error (hy3d.error's new)
-- makes that error an hy3d error; Transport:waiter's caller does so for the waiter's.
-- Raised for bad opts (at hy3d.use's caller).
function M.adapter(ngx, opts, make_error)
  local cap = check(opts)
  make_error = make_error or function(e) return e end
  local get_phase, sleep = ngx.get_phase, ngx.sleep
  local function wait(delay) sleep(M.pace(delay, cap)) end
  local a = { name = "ngx", max_wait = cap }
  function a.waiter()
    local phase = get_phase()
    if M.YIELDING[phase] then return wait end
    return false, M.phase_error(phase)
  end
  function a.sleep(s)
    local phase = get_phase()
    if not M.YIELDING[phase] then return false, make_error(M.phase_error(phase)) end
    sleep(M.pace(s, cap))
    return true
  end
  return a
end

return M
