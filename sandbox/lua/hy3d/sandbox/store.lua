-- hy3d.sandbox.store: the job store — JobIds and RequestIds, the job clock, the WAIT -> RUN -> DONE
-- timeline, concurrency slots and the per-action rate limit, the sweep of expired jobs and which
-- files a job has. The bottom of the sandbox: it requires no other part of it. Its functions are
-- methods of the sandbox object (hy3d.sandbox mixes `methods` in); the plain helpers are exported.
local socket = require "socket"

local gettime = socket.gettime
local format = string.format
local floor = math.floor

local Sandbox = {}

local function uuid()
  local a, b, c, d = math.random(0, 0xffffffff), math.random(0, 0xffff), math.random(0, 0x0fff),
    math.random(0, 0x3fff)
  return format("%08x-%04x-4%03x-%04x-%012x", a, b, c, d | 0x8000, math.random(0, 0xffffffffffff))
end

-- ===== the job clock =====

-- The time jobs live by: WAIT -> RUN -> DONE, job_ttl, url_ttl windows, slot cool-downs and the
-- rate limit's seconds. Real time plus an offset, or an instant that stands still while frozen;
-- POST /_sandbox/clock freezes and advances it (a test facility, so a spec steps a job through its
-- phases instead of sleeping and racing them). Connection deadlines, fault delays, JobIds, the
-- request log and the TC3 clock-skew check stay on real time.
function Sandbox:now()
  local c = self.clock
  return c.frozen or (gettime() + c.offset)
end

-- The clock as /_sandbox/clock shows it: the job time, whether it stands still, and how far it is

-- ===== jobs =====

function Sandbox:new_job_id()
  self.job_seq = (self.job_seq + 1) % 4096
  local ms = floor(gettime() * 1000) - 1288834974657
  return format("%d", (ms << 22) | (self.job_seq << 10) | math.random(0, 1023))
end

local function status_of(job, now)
  local age = now - job.created
  if age < job.wait_time then return "WAIT" end
  if age < job.wait_time + job.run_time then return "RUN" end
  return job.fail and "FAIL" or "DONE"
end

function Sandbox:limit_of(family)
  local c = self.cfg.concurrency
  if type(c) == "number" then return family == "pro" and c or 1 end
  return c[family] or c.default or 1
end

-- Jobs of `family` holding a concurrency slot (WAIT, RUN, or finished within the cool-down).
function Sandbox:busy_slots(family, now)
  local list, n = self.active[family] or {}, 0
  local keep = {}
  for _, job in ipairs(list) do
    if now < job.created + job.wait_time + job.run_time + self.cfg.slot_cooldown and self.jobs[job.id] then
      keep[#keep + 1] = job
      n = n + 1
    end
  end
  self.active[family] = keep
  return n
end

-- Forgets jobs whose id and files have both expired (the store stays bounded in long runs).
function Sandbox:sweep(now)
  local order, horizon = self.order, math.max(self.cfg.job_ttl, self.cfg.url_ttl) + self.cfg.wait_time + self.cfg.run_time
  while self.order_head <= #order do
    local job = self.jobs[order[self.order_head]]
    if job and now - job.created <= horizon then break end
    if job then self.jobs[job.id] = nil end
    order[self.order_head] = nil
    self.order_head = self.order_head + 1
  end
  if self.order_head > 1024 and self.order_head > #order / 2 then
    local compact = {}
    for i = self.order_head, #order do compact[#compact + 1] = order[i] end
    self.order, self.order_head = compact, 1
  end
end

function Sandbox:store(job)
  self.jobs[job.id] = job
  self.order[#self.order + 1] = job.id
  self.stats.jobs_created = self.stats.jobs_created + 1
end


-- The file `name` of a job, if the job has one by that name.
local function file_of(job, name)
  if name == "preview.png" and (job.family == "pro" or job.family == "rapid") then return name end
  if name == "segmentation.json" and job.family == "part" then return name end
  for _, entry in ipairs(job.results) do
    if entry[2] == name then return name end
  end
  return nil
end

-- Rate limit: at most cfg.rate_limit requests per second per action (reference §5.1).
function Sandbox:rate_limited(action)
  local limit = self.cfg.rate_limit
  if limit <= 0 then return false end
  local second = floor(self:now())
  local bucket = self.rate[action]
  if not bucket or bucket.second ~= second then
    bucket = { second = second, n = 0 }
    self.rate[action] = bucket
  end
  bucket.n = bucket.n + 1
  return bucket.n > limit
end

return { methods = Sandbox, uuid = uuid, status_of = status_of, file_of = file_of }
