--- hy3d.loop: the adapters that hand hy3d to a host's event loop (hy3d.use): cqueues and copas
-- through a waiter (scheduler.adapter) that calls made in their coroutines wait with, luv through
-- poll watchers on each transport's pollfd and one timer that drive the pump; OpenResty's ngx,
-- LÖVE's love and Tarantool's fiber through hy3d.hosts.ngx, hy3d.hosts.love and
-- hy3d.hosts.tarantool. Depends on hy3d.scheduler, hy3d.error and the host modules (hy3d.hosts.*).
local scheduler = require "hy3d.scheduler"
local errors = require "hy3d.error"
local hosts_ngx = require "hy3d.hosts.ngx"
local hosts_love = require "hy3d.hosts.love"
local hosts_tarantool = require "hy3d.hosts.tarantool"

local isyieldable = coroutine.isyieldable or function()
  local co, ismain = coroutine.running()
  return co ~= nil and not ismain
end

local ceil, max = math.ceil, math.max

-- luv: a poll watcher on each transport's pollfd and one timer for the next due time; idle, they
-- stop, so uv.run() returns once nothing is left to do.
local function use_luv(uv)
  local polls, timer = {}, uv.new_timer()
  local rearm, in_callback
  local function pump()
    in_callback = true
    scheduler.update()
    rearm()
    in_callback = false
  end
  function rearm()
    local t = scheduler.timeout()
    local idle = t == nil and scheduler.count() == 0
    for tr, p in pairs(polls) do
      if idle or tr.closed then p:stop() else p:start("r", pump) end
    end
    -- with tasks alive and nothing due, a 1 s safety net: a lost socket event then costs at most
    -- a second instead of a loop that never wakes (an idle loop still stops, so uv.run returns)
    if not t and not idle then t = 1 end
    if t then timer:start(max(0, ceil(t * 1000)), 0, pump) else timer:stop() end
  end
  local function attach(tr)
    local fd = tr:pollfd()
    if not fd or polls[tr] then return end
    polls[tr] = uv.new_poll(fd)
  end
  scheduler.set_hooks(attach, function() timer:start(0, 0, pump) end)
  timer:start(0, 0, pump)
  return function()                               -- undo: close the handles, let libuv finish
    for _, p in pairs(polls) do p:close() end
    timer:close()
    if not in_callback then uv.run("nowait") end
  end
end

local undo_adapter

--- Hands hy3d to a host's event loop: cqueues (inside a cqueues coroutine, hy3d waits with
-- cqueues.poll on the client's pollfd), luv (watchers on each client's pollfd and a timer drive
-- the pump; spawn jobs with hy3d.spawn and run uv.run()), or copas (inside a copas thread,
-- hy3d yields with copas.sleep), or OpenResty's ngx (hy3d waits with ngx.sleep where the phase may
-- yield; opts: { max_wait = seconds }, hy3d.hosts.ngx), or LÖVE's love (in its main loop, a call
-- outside a spawned task returns WOULD_BLOCK_FRAME; hy3d.hosts.love), or Tarantool's fiber (a call
-- in a fiber waits with socket.iowait on the pollfd; hy3d.hosts.tarantool). Returns the adapter's name.
local function use(lib, opts)
  scheduler.adapter = nil                        -- one adapter at a time; hy3d.use(nil) removes it
  scheduler.set_hooks(nil, nil)
  if undo_adapter then undo_adapter() end
  undo_adapter = nil
  if lib == nil then return nil end
  if type(lib) ~= "table" then error("hy3d.use: expects the cqueues, luv or copas module, ngx, love or Tarantool's fiber", 2) end
  if lib.poll and lib.running and lib.new then
    scheduler.adapter = { name = "cqueues", waiter = function(tr)   -- tr: a cqueues pollable
      if not isyieldable() then return nil end
      return function(delay) lib.poll(tr, delay or 1) end           -- never without a time limit
    end }
    return "cqueues"
  elseif lib.new_poll and lib.new_timer then
    undo_adapter = use_luv(lib)
    return "luv"
  elseif lib.addthread and lib.sleep then
    local function wait(delay) lib.sleep(math.min(delay or 0.01, 0.01)) end
    scheduler.adapter = { name = "copas", waiter = function()
      if not isyieldable() then return nil end
      return wait
    end }
    return "copas"
  elseif hosts_tarantool.is_fiber(lib) then        -- Tarantool's fiber module
    scheduler.adapter = hosts_tarantool.adapter(lib)
    return "tarantool"
  elseif lib.addthread and lib.step then
    error("hy3d.use: this copas (" .. tostring(lib._VERSION) .. ") has no timers (copas.sleep, copas 2+), so its "
      .. "threads cannot wait for hy3d; run hy3d work with hy3d.spawn and call hy3d.update() between "
      .. "copas.step calls (examples/copas.lua)", 2)
  elseif hosts_ngx.detect(lib) then
    scheduler.adapter = hosts_ngx.adapter(lib, opts, errors.new)
    return "ngx"
  elseif hosts_love.detect(lib) then
    scheduler.adapter = hosts_love.adapter(lib, errors.new)
    return "love"
  end
  error("hy3d.use: not a module hy3d knows (cqueues, luv, copas, OpenResty's ngx, LÖVE's love or Tarantool's fiber)", 2)
end

return { use = use }
