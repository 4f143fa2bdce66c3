--- hy3d.hosts.love: the LÖVE adapter (hy3d.use(love)): LÖVE 11 runs its main loop (love.load,
-- love.update, love.draw) inside a coroutine, where a call made outside an hy3d.spawn task would
-- hold up the frame until it returned; with this adapter such a call returns the usage error
-- WOULD_BLOCK_FRAME at once instead (and hy3d.run/step refuse to wait there). Outside a coroutine
-- (a love.thread's own Lua state, a script) calls block as usual. Requires no other hy3d module.
local M = {}

local isyieldable = coroutine.isyieldable or function()
  local co, ismain = coroutine.running()
  return co ~= nil and not ismain
end

--- The usage error of a call that would hold up a frame.
function M.frame_error()
  return {
    kind = "usage", code = "WOULD_BLOCK_FRAME",
    message = "this hy3d call was made in LÖVE's main loop outside an hy3d.spawn task: it would hold up the "
      .. "frame until it returned. Run it in a task (hy3d.spawn(fn), started in love.load or love.update) and "
      .. "call hy3d.update() once per frame in love.update; a blocking call belongs in a love.thread",
  }
end

--- Whether lib looks like LÖVE's love table.
function M.detect(lib)
  return type(lib) == "table" and type(lib.getVersion) == "function" and type(lib.timer) == "table"
end

--- The adapter for hy3d.scheduler.adapter: waiter(tr) is false and WOULD_BLOCK_FRAME inside a
-- coroutine (LÖVE's main loop), nil elsewhere (block); sleep(s) likewise for the pump (false and the
-- error: hy3d.run and hy3d.step with a timeout do not wait in a frame). make_error as hy3d.hosts.ngx's.
function M.adapter(_, make_error)
  make_error = make_error or function(e) return e end
  local a = { name = "love" }
  function a.waiter()
    if isyieldable() then return false, M.frame_error() end
    return nil
  end
  function a.sleep()
    if isyieldable() then return false, make_error(M.frame_error()) end
    return nil
  end
  return a
end

return M
