--- hy3d.slots: the max_concurrent_jobs queue of one client: a local FIFO of submits, one slot per
-- unfinished job. Waiting and polling go through the client's transport (tr:api, tr:sleep_until).
-- Depends on hy3d.core (the clock) and hy3d.families (the query action of a job's family).
local core = require "hy3d.core"
local families = require "hy3d.families"

local now = core.now

local Slots = {}
Slots.__index = Slots

--- A queue of `max` slots.
local function new(max)
  return setmetatable({ max = max, active = {}, count = 0, queue = {}, next_ticket = 1 }, Slots)
end

--- Waits (through tr: yielding, or blocking efficiently) until this submit is first in line and a
-- slot is free (`interval`: as for wait). Returns its ticket, or nil and the error of an adapter
-- that refuses to wait here (the submit then leaves the line).
function Slots:take(tr, family, interval)
  local slots = self
  local ticket = { n = slots.next_ticket, kind = family }
  slots.next_ticket = slots.next_ticket + 1
  slots.queue[#slots.queue + 1] = ticket
  while slots.queue[1] ~= ticket or slots.count >= slots.max do
    local ok, err = self:wait(tr, interval)
    if not ok then
      for i, t in ipairs(slots.queue) do
        if t == ticket then table.remove(slots.queue, i) break end
      end
      return nil, err
    end
  end
  table.remove(slots.queue, 1)
  slots.count = slots.count + 1
  return ticket
end

--- Pauses a moment; when every slot is held, polls the oldest job holding one, so a slot frees
-- even when nobody waits on that job; `interval` (seconds, the client's poll_interval) is the
-- least time between two polls of one job. True, or nil and tr:sleep_until's refusal.
function Slots:wait(tr, interval)
  local slots = self
  if slots.count >= slots.max then
    local oldest
    for _, job in pairs(slots.active) do
      if not oldest or job.held < oldest.held then oldest = job end
    end
    if oldest and now() - (oldest.checked or 0) >= interval then
      oldest.checked = now()
      -- the family's actions on this client's door (a site may name them its own way); a family removed
      -- from hy3d.kinds since (kinds[name] = nil) cannot be polled: its slot is freed
      local family = rawget(families.actions, oldest.kind) and families.resolve(oldest.kind, tr.door_impl)
      local res = family and tr:api(family.query, { JobId = oldest.id })
      if not family or (res and (res.Status == "DONE" or res.Status == "FAIL")) then self:ended(oldest.id) end
    end
  end
  return tr:sleep_until(now() + 0.05)
end

--- The submit of `ticket` made `job`: its slot is held until the job ends.
function Slots:hold(ticket, job)
  self.active[job.JobId] = { id = job.JobId, kind = ticket.kind, held = now() }
end

--- The submit of `ticket` made no job: its slot is free.
function Slots:release(ticket) -- luacheck: ignore 212
  self.count = self.count - 1
end

--- A job reached DONE or FAIL: its slot (if it held one) is free.
function Slots:ended(id)
  local slots = self
  if slots.active[id] then
    slots.active[id] = nil
    slots.count = slots.count - 1
  end
end

return { new = new, Slots = Slots }
