--- hy3d.hosts.tarantool: the Tarantool adapter (hy3d.use(require "fiber")): a call in a fiber blocks only that fiber.
-- Tarantool runs Lua in fibers, which are not coroutines hy3d can yield (coroutine.isyieldable()
-- is false in a fiber), so the waiter decides: a call waits in Tarantool's event loop with the
-- builtin socket module's iowait on the transport's pollfd (the epoll descriptor that is readable
-- whenever a transfer needs attention), paced by the engine's timeout; where there is no pollfd
-- (not Linux), fiber.sleep paced the same way. Every fiber (the script's main one included) may
-- wait; inside a box transaction a wait would let another fiber run (memtx aborts the transaction
-- on a yield), so there a call returns an error instead. Requires no hy3d module (hy3d.loop uses it).

local CAP = 1        -- seconds: the longest one wait lasts, even when libcurl names no timeout
local FLOOR = 0.001  -- seconds: the shortest one, so a timeout of 0 can never turn into a busy loop
local FALLBACK_CAP = 0.05   -- without a pollfd nothing says when a socket is ready: wake this often

local function clamp(delay, cap)
  if type(delay) ~= "number" or delay ~= delay or delay > cap then return cap end
  if delay < FLOOR then return FLOOR end
  return delay
end

-- The error a call gets inside a box transaction (a table: the transport makes it an hy3d error).
local IN_TXN = {
  kind = "usage", code = "TARANTOOL_IN_TRANSACTION", retryable = false,
  message = "hy3d cannot wait inside a box transaction: a wait yields the fiber, which aborts a memtx transaction; "
    .. "call hy3d before box.begin() or after box.commit()",
}

-- Whether the calling fiber is inside a box transaction. Before box.cfg{} box has no is_in_txn
-- of its own (its __index raises instead): no transaction then.
local function in_txn()
  local box = rawget(_G, "box")
  if type(box) ~= "table" then return false end
  local f = rawget(box, "is_in_txn")
  return f ~= nil and f() == true                 -- an FFI function (cdata) in Tarantool 2.x
end

--- The adapter hy3d.use installs for Tarantool's fiber module: { name = "tarantool", waiter, sleep }.
-- socket is Tarantool's builtin socket module (require "socket" there; a parameter for specs).
-- sleep(seconds) is how the pump (hy3d.step, hy3d.run) may wait in a fiber: fiber.sleep, at most
-- FALLBACK_CAP at a time (it knows no pollfd); false and the error inside a box transaction.
local function adapter(fiber, socket)
  if not socket then
    local ok, mod = pcall(require, "socket")     -- Tarantool's builtin; elsewhere maybe none, or luasocket
    socket = ok and type(mod) == "table" and mod or {}
  end
  local iowait, sleep = socket.iowait, fiber.sleep   -- no iowait (not Tarantool's socket): fiber.sleep
  return {
    name = "tarantool",
    waiter = function(tr)
      if in_txn() then return false, IN_TXN end
      local fd = tr:pollfd()
      if fd and iowait then
        return function(delay) iowait(fd, "R", clamp(delay, CAP)) end
      end
      return function(delay) sleep(clamp(delay, FALLBACK_CAP)) end
    end,
    sleep = function(seconds)
      if in_txn() then return false, IN_TXN end
      sleep(clamp(seconds, FALLBACK_CAP))
      return true
    end,
  }
end

--- Whether lib looks like Tarantool's fiber module.
local function is_fiber(lib)
  return type(lib) == "table" and type(lib.create) == "function" and type(lib.sleep) == "function"
    and type(lib.self) == "function" and type(lib.id) == "function"
end

return { adapter = adapter, is_fiber = is_fiber, clamp = clamp, CAP = CAP, FLOOR = FLOOR, FALLBACK_CAP = FALLBACK_CAP }
