--- hy3d's pump: spawned tasks (coroutines hy3d resumes when what they wait for is ready), the
-- transports (hy3d.transport: a client's engine) whose transfers it drives, and the hooks through
-- which hy3d.loop's adapters hand all of it to a host's event loop (cqueues, luv, copas). It sees
-- transports and their engines (tr.engine, tr.closed), never a client. One scheduler per Lua
-- state; nothing here is shared between states.
local core = require "hy3d.core"

local create, resume, status, running = coroutine.create, coroutine.resume, coroutine.status, coroutine.running
local unpack = table.unpack or unpack   -- luacheck: ignore 143
local min, max, floor, huge = math.min, math.max, math.floor, math.huge

-- What a task yields to say what it waits for: TOKEN, request (or nil), wake time (or nil).
local TOKEN = {}

local tasks = {}                                  -- live tasks, in spawn order
local failures = {}                               -- errors of failed tasks, in order
local finished = 0                                -- tasks that ended since the list was last compacted
local task_of = setmetatable({}, { __mode = "k" })   -- coroutine -> task
local transports = setmetatable({}, { __mode = "k" })   -- transport -> true (weak: GC'd clients' drop out)
local hooks = { attach = nil, wake = nil }        -- set by an adapter

-- What the pump knows about waiting tasks: by request, by timer, or ready to run. Every step
-- costs the same with 10 or 10,000 tasks: timers are a heap, the ready tasks a queue.
local waiting = {}                                -- request -> task
local sleepers, nsleepers = {}, 0                 -- task -> true (those with a wake time), and how many
local runnable, rq_head, rq_tail = {}, 1, 0       -- tasks to resume, in order: runnable[rq_head..rq_tail]
-- Spawned tasks not started yet, in spawn order: fresh[fr_head..fr_tail]. An update resumes the tasks
-- that were woken first and starts new ones with what is left of its budget, so a task whose
-- request finished never queues behind a thousand spawns (a game's burst of jobs).
local fresh, fr_head, fr_tail = {}, 1, 0
local overflowed = false                          -- some engine dropped completions: scan waiting

-- Wake times: a binary min-heap in two arrays (no table per entry). An entry is stale once its
-- task stopped sleeping or sleeps until another time; stale entries are skipped when they come up.
local heap_t, heap_k, heap_n = {}, {}, 0

local function heap_push(t, task)
  heap_n = heap_n + 1
  local i = heap_n
  while i > 1 do
    local p = floor(i / 2)
    if heap_t[p] <= t then break end
    heap_t[i], heap_k[i] = heap_t[p], heap_k[p]
    i = p
  end
  heap_t[i], heap_k[i] = t, task
end

local function heap_pop()
  local t, task = heap_t[1], heap_k[1]
  local lt, lk = heap_t[heap_n], heap_k[heap_n]
  heap_t[heap_n], heap_k[heap_n] = nil, nil
  heap_n = heap_n - 1
  if heap_n > 0 then
    local i = 1
    while true do
      local c = 2 * i
      if c > heap_n then break end
      if c < heap_n and heap_t[c + 1] < heap_t[c] then c = c + 1 end
      if lt <= heap_t[c] then break end
      heap_t[i], heap_k[i] = heap_t[c], heap_k[c]
      i = c
    end
    heap_t[i], heap_k[i] = lt, lk
  end
  return t, task
end

local function ready(task)
  rq_tail = rq_tail + 1
  runnable[rq_tail] = task
end

local function sleep_until(task, t)
  if not sleepers[task] then nsleepers = nsleepers + 1 end
  task.wake, sleepers[task] = t, true
  heap_push(t, task)
  if heap_n > 2 * nsleepers + 64 then             -- mostly stale: rebuild from the sleepers
    heap_t, heap_k, heap_n = {}, {}, 0
    for k in pairs(sleepers) do heap_push(k.wake, k) end
  end
end

local function unsleep(task)
  if sleepers[task] then
    sleepers[task], nsleepers = nil, nsleepers - 1
  end
  task.wake = nil
end

local Task = {}
Task.__index = Task
Task.__name = "hy3d.Task"

--- "running", "done" or "failed".
function Task:status()
  return self.state
end

--- The function's return values once done, or nil and the error (what the function raised)
-- once failed.
function Task:result()
  if self.state == "done" then return unpack(self.results, 1, self.results.n) end
  if self.state == "failed" then return nil, self.error end
  return nil, "the task is still running"
end

function Task:__tostring()
  return ("hy3d.Task (%s)"):format(self.state)
end

local M = { TOKEN = TOKEN }

--- The pump's clock: monotonic seconds, read for every wake time and deadline (hy3d.sleep reads
-- it too). A test hook, not public API: a spec may replace it with a clock it advances by hand,
-- and drive the pump with update() (step() and run() would sleep for the fake durations), to check
-- timer order without wall-clock margins. Client waits read core.now, so only plain sleepers and
-- tasks that yield TOKEN themselves follow a replaced clock.
M.now = core.now

local function now() return M.now() end

--- Test hook, not public API: the number of entries in the timer heap (stale ones included) and
-- of sleeping tasks.
function M._timers()
  return heap_n, nsleepers
end

--- Called with (task, err) when a spawned task raises (err is what it raised; task.traceback
-- has where); the default writes one line to stderr: tostring(err), only the first line of it.
function M.on_error(task, err)
  io.stderr:write("hy3d: a spawned task failed: ", (tostring(err):match("^[^\r\n]*")), "\n")
  return task
end

--- The running task, when the caller is one (client methods then yield to the pump).
function M.current()
  local co = running()
  return co and task_of[co] or nil
end

--- Registers a transport so the pump drives its transfers. A client made inside a task has its
-- engine record finished requests from now on (the first engine:completed() turns that on): it
-- starts its first request before the pump ever collects from it, and that request may finish in
-- the pump's next eng:step, before any completed() call; unrecorded, its task would never wake.
-- Elsewhere the pump's first collect turns it on, before any task can use the client (a client
-- only ever used in the main thread then keeps no list of finished requests).
function M.add(tr)
  transports[tr] = true
  if M.current() then tr.engine:completed() end
  if hooks.attach then hooks.attach(tr) end
end

--- Runs fn(...) in a coroutine the pump drives: it starts at the next update, step or run (an update
-- with a budget starts new tasks after resuming the woken ones, with what the budget has left).
-- Inside it, submit, wait, download and call yield to the pump instead of blocking.
function M.spawn(fn, ...)
  if type(fn) ~= "function" then error("hy3d.spawn: expects a function", 2) end
  local task = setmetatable({ state = "running", co = create(fn), args = { n = select("#", ...), ... },
                              started = false }, Task)
  task_of[task.co] = task
  tasks[#tasks + 1] = task
  fr_tail = fr_tail + 1
  fresh[fr_tail] = task
  if hooks.wake then hooks.wake() end
  return task
end

-- Resumes one task and files it by what it waits for next, or records how it ended.
local function run_task(task)
  local ok, a, b, c
  if task.started then
    ok, a, b, c = resume(task.co)
  else
    task.started = true
    ok, a, b, c = resume(task.co, unpack(task.args, 1, task.args.n))
    task.args = nil
  end
  if not ok then                                  -- keep what was raised (an hy3d error stays a table)
    finished = finished + 1
    task.state, task.error, task.traceback = "failed", a, debug.traceback(task.co, tostring(a))
    failures[#failures + 1] = a ~= nil and a or task.traceback   -- error(nil) still counts
    M.on_error(task, a)
  elseif status(task.co) == "dead" then
    finished = finished + 1
    task.state = "done"
    task.results = { n = 3, a, b, c }
  elseif a == TOKEN and b then                    -- a request, and maybe a wake time too (whichever first)
    if b:done() then
      ready(task)
    else
      waiting[b], task.req = task, b
      if c then sleep_until(task, c) end
    end
  elseif a == TOKEN and c then
    sleep_until(task, c)
  else                                            -- a plain yield: resume a moment later
    sleep_until(task, now() + 0.001)
  end
end

-- Moves to `runnable` the tasks whose request finished (reported by each engine) or whose wake
-- time has come.
local swept = setmetatable({}, { __mode = "k" })   -- closed transports whose waiters were looked at
local function collect(t)
  for tr in pairs(transports) do
    if tr.closed then
      -- closing cancelled its requests (done, CANCELLED) without reporting them: look at every waiter once
      if not swept[tr] then swept[tr], overflowed = true, true end
    else
      local eng = tr.engine
      eng:step(0)
      local done = eng:completed()
      if done then
        for i = 1, #done do
          local task = waiting[done[i]]
          if task then
            waiting[done[i]], task.req = nil, nil
            unsleep(task)
            ready(task)
          end
        end
        if done.overflow then overflowed = true end
      end
    end
  end
  if overflowed then                              -- completions were dropped: look at every request
    overflowed = false
    for req, task in pairs(waiting) do
      if req:done() then
        waiting[req], task.req = nil, nil
        unsleep(task)
        ready(task)
      end
    end
  end
  while heap_n > 0 and heap_t[1] <= t do
    local w, task = heap_pop()
    if sleepers[task] and task.wake == w then     -- else stale: woken already, or sleeping longer
      unsleep(task)
      if task.req then waiting[task.req], task.req = nil, nil end
      ready(task)
    end
  end
end

--- Non-blocking: drives every client's transfers and resumes the tasks whose request finished
-- or whose timer is due. With `budget` (seconds), stops resuming once that much time has gone
-- since the call began (driving the transfers counts; after a collect that used it all, resumes
-- get half of it more) and leaves the rest, first in line, for the next call: a frame's cost stays
-- bounded however many jobs finish at once. Returns the number of live tasks.
function M.update(budget)
  -- The budget is real time, whatever M.now is, counted from the call: the engines' round in
  -- collect (the connects of the requests the last resumes started, answers, the armed polls)
  -- spends it too, so a frame whose transfers were costly starts fewer new requests. Resumes still
  -- get half the budget after a collect that used it all: tasks keep moving however busy the engine.
  local stop = budget and (core.now() + budget) or huge
  local t = now()
  collect(t)
  if budget then stop = max(stop, core.now() + budget / 2) end
  local last, flast = rq_tail, fr_tail            -- tasks these resumes make ready or spawn wait for the next call
  local ran, over = false, false
  while rq_head <= last do                        -- the woken tasks first
    local task = runnable[rq_head]
    runnable[rq_head] = nil
    rq_head = rq_head + 1
    if task.state == "running" then
      run_task(task)
      ran = true
      if core.now() >= stop then over = true; break end   -- over budget: the rest go first next time
    end
  end
  while not over and fr_head <= flast do          -- then new ones, with what is left
    if ran and core.now() >= stop then break end
    local task = fresh[fr_head]
    fresh[fr_head] = nil
    fr_head = fr_head + 1
    if task.state == "running" then
      run_task(task)
      ran = true
    end
  end
  if rq_head > rq_tail then rq_head, rq_tail = 1, 0 end
  if fr_head > fr_tail then fr_head, fr_tail = 1, 0 end
  if finished > 0 then                            -- drop the finished; spawned ones stay
    local live = {}
    for k = 1, #tasks do
      if tasks[k].state == "running" then live[#live + 1] = tasks[k] end
    end
    tasks, finished = live, 0
  end
  return #tasks
end

--- Seconds until the pump next has work: a task's timer or a libcurl timer; 0 when something is
-- ready now; nil when nothing is pending at all.
function M.timeout()
  if rq_head <= rq_tail or fr_head <= fr_tail then return 0 end
  local t, best = now(), nil
  if heap_n > 0 then best = heap_t[1] - t end     -- maybe a stale entry: an early, harmless wake-up
  for tr in pairs(transports) do
    if not tr.closed and tr.engine:pending() > 0 then
      local ct = tr.engine:timeout()
      if ct then best = min(best or huge, ct) end
    end
  end
  if best and best < 0 then best = 0 end
  return best
end

--- Like update, but first waits up to `timeout` seconds (default: until something is due) for
-- a transfer or timer, sleeping in curl_multi_poll (never spinning), or through the sleep of the
-- adapter hy3d.use installed, where it has one (OpenResty: ngx.sleep, so the worker keeps serving).
-- Returns the live tasks; where that adapter refuses to wait at all, also its error (nothing waited).
function M.step(timeout)
  local wait = M.timeout()
  if timeout and (wait == nil or timeout < wait) then wait = timeout end
  local a = M.adapter
  if wait and wait > 0 and a and a.sleep then
    local slept, err = a.sleep(wait)
    if slept then return M.update() end
    if err then return M.update(), err end
  end
  if wait and wait > 0 then
    local busy = {}
    for tr in pairs(transports) do
      if not tr.closed and tr.engine:pending() > 0 then busy[#busy + 1] = tr.engine end
    end
    if #busy == 1 then
      busy[1]:step(wait)
    elseif #busy > 1 then                          -- several multi handles: wait on one, briefly
      busy[1]:step(min(wait, 0.005))
    elseif #tasks > 0 then
      core.sleep(wait)
    end
  end
  return M.update()
end

--- Drives every spawned task to the end. Returns true, or false and the list of the errors of
-- the tasks that failed meanwhile (what each raised; the traceback of one raising nil), or false
-- and { the adapter's error } where the adapter hy3d.use installed refuses to wait (the tasks live on).
function M.run()
  local first = #failures + 1
  while #tasks > 0 do
    local _, err = M.step(1)
    if err then return false, { err } end        -- the host's adapter will not let the pump wait here
  end
  if #failures >= first then return false, { unpack(failures, first) } end
  return true
end

--- The number of live tasks.
function M.count()
  return #tasks
end

--- The open transports the pump drives (for adapters).
function M.transports()
  local list = {}
  for tr in pairs(transports) do
    if not tr.closed then list[#list + 1] = tr end
  end
  return list
end

--- Set by hy3d.use (hy3d.loop): { name = ..., waiter = function(transport) -> how a call made
-- outside a spawned task waits: a function(delay) that waits without blocking the host, nil where
-- the adapter does not apply (the call then blocks in the kernel), or false and an error table
-- where it must not wait at all; optionally sleep = function(seconds) -> true once it waited
-- through the host, false (and an error: the pump must not wait here) or nil (block as usual) }.
-- Read by Transport:waiter at each call, and by step.
M.adapter = nil

--- Adapter hooks: attach(transport) for each open transport, wake() when a task is spawned.
function M.set_hooks(attach, wake)
  hooks.attach, hooks.wake = attach, wake
  if attach then
    for tr in pairs(transports) do
      if not tr.closed then attach(tr) end
    end
  end
end

-- ===== the pump as hy3d and every client show it =====

--- The default resume budget of hy3d.update and client:update, in seconds (hy3d.update_budget).
M.update_budget = 0.00025

--- hy3d.update and client:update: update with a checked budget, default update_budget.
function M.pump(budget)
  if budget ~= nil and (type(budget) ~= "number" or budget ~= budget or budget < 0) then
    error("hy3d.update: budget must be a number of seconds >= 0", 2)
  end
  return M.update(budget or M.update_budget)
end

--- hy3d.step and client:step: step with a checked timeout, default 0.
function M.pump_step(timeout)
  if timeout ~= nil and (type(timeout) ~= "number" or timeout ~= timeout or timeout < 0 or timeout >= 1e9) then
    error("hy3d.step: timeout must be a finite number of seconds >= 0", 2)
  end
  return M.step(timeout or 0)
end

return M
