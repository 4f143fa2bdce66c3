--- hy3d.cli.output: what the hy3d command writes: text for humans or JSON lines, the live status
-- line and download bars on a terminal, and the redaction every string goes through first. The
-- methods of a run's context (hy3d.cli.context inherits them): they read its fields json, quiet,
-- live, secrets, job_id, status, t0, and a new status goes to its job record (self:remember).
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"

local floor = math.floor
local now = core.now

local M = {}

-- ===== small helpers =====

local function human_bytes(n)
  if not n then return "?" end
  if n < 1024 then return ("%d B"):format(floor(n)) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  if n < 1024 * 1024 * 1024 then return ("%.1f MB"):format(n / (1024 * 1024)) end
  return ("%.2f GB"):format(n / (1024 * 1024 * 1024))
end

local function human_elapsed(s)
  if s < 60 then return ("%.1f s"):format(s) end
  local m = floor(s / 60)
  return ("%d min %02d s"):format(m, floor(s - m * 60))
end

local function round3(x)
  return floor(x * 1000 + 0.5) / 1000
end

-- The number of characters (UTF-8) in s: its bytes less the continuation bytes.
local function width(s)
  local _, continuation = s:gsub("[\128-\191]", "")
  return #s - continuation
end

M.human_bytes, M.human_elapsed, M.round3, M.width = human_bytes, human_elapsed, round3, width

--- rows (lists of strings) as text lines: every column but the last padded to its widest cell
-- (display width), two spaces between columns. hy3d jobs and hy3d cache ls print their tables so.
function M.columns(rows)
  local widths, lines = {}, {}
  for _, row in ipairs(rows) do
    for c = 1, #row - 1 do
      if not widths[c] or width(row[c]) > widths[c] then widths[c] = width(row[c]) end
    end
  end
  for i, row in ipairs(rows) do
    local cells = {}
    for c = 1, #row - 1 do cells[c] = row[c] .. (" "):rep(widths[c] - width(row[c])) end
    cells[#row] = row[#row]
    lines[i] = table.concat(cells, "  ") .. "\n"
  end
  return table.concat(lines)
end

-- ===== writing, redacted =====

local Output = {}
M.Output = Output

-- Credentials shorter than this are refused (hy3d.cli.connect), so never sent: they are not
-- redacted, which would cut them out of ordinary words ("w[redacted]rning" for a key "a").
local MIN_SECRET = 8
M.MIN_SECRET = MIN_SECRET

function Output:secret(s)
  if type(s) == "string" and #(s:match("^%s*(.-)%s*$")) >= MIN_SECRET then
    self.secrets[#self.secrets + 1] = s
    local trimmed = s:match("^%s*(.-)%s*$")
    if trimmed ~= s and trimmed ~= "" then self.secrets[#self.secrets + 1] = trimmed end
  end
end

function Output:redact(s)
  return errors.redact(s, self.secrets)
end

-- The live line on stderr (terminal only).
function Output:draw(line)
  io.stderr:write("\r", self:redact(line), "\27[K")
  io.stderr:flush()
  self.live_line = line
  self.last_draw = now()
end

-- Removes the live line (before other output).
function Output:clear()
  if self.live_line then
    io.stderr:write("\r\27[K")
    self.live_line = nil
  end
end

-- Ends the live line with a newline, so it stays on screen.
function Output:settle()
  if self.live_line then
    io.stderr:write("\n")
    io.stderr:flush()
    self.live_line = nil
  end
end

function Output:out(s)
  self:clear()
  io.stdout:write(self:redact(s))
  io.stdout:flush()
end

function Output:err(s)
  self:clear()
  io.stderr:write(self:redact(s))
  io.stderr:flush()
end

-- The version of the JSON lines' schema (doc/cli.md, "Machine output"): every line carries it
-- as "schema". It goes up only when a stable field changes meaning or goes away; a new event or
-- field does not change it.
local SCHEMA = 1
M.SCHEMA = SCHEMA

-- A JSON line on stdout (JSON mode), with the schema version.
function Output:emit(t)
  t.schema = SCHEMA
  errors.redact_all(t, self.secrets)              -- before encoding: JSON may escape a secret ("\/")
  local line, err = core.encode(t)
  if not line then line = core.encode { event = "error", kind = "internal", message = "cannot encode: " .. tostring(err) } end
  self:out(line .. "\n")
end

-- A note for humans on stderr (text mode, not quiet).
function Output:note(s)
  if self.json or self.quiet then return end
  self:err(s .. "\n")
end

function Output:warn(s)
  if self.warned[s] then return end
  self.warned[s] = true
  self:err("hy3d: warning: " .. s .. "\n")
end

-- ===== events: status, progress, files =====

function Output:submitted(job, extra)
  self.job_id, self.kind = job.JobId, job.kind
  if self.json then
    local e = { event = "submitted", job_id = job.JobId, kind = job.kind, request_id = job.RequestId }
    for k, v in pairs(extra or {}) do e[k] = v end
    self:emit(e)
  else
    self:note(("submitted %s job %s"):format(tostring(job.kind), job.JobId))
  end
end

function Output:status_line()
  if not self.job_id then return "submitting ...  " .. human_elapsed(now() - self.t0) end
  return ("job %s: %s%s  %s"):format(self.job_id, tostring(self.status or "..."), self.percent or "",
    human_elapsed(now() - self.t0))
end

-- A new status from a query (on_status).
function Output:status_changed(res)
  local status = type(res.Status) == "string" and res.Status:upper() or errors.text(res.Status)
  self.status = status
  local progress = res.Progress                   -- a door that reports it (mps): 0 to 100
  progress = type(progress) == "number" and progress >= 0 and progress <= 100 and floor(progress) or nil
  self.percent = progress and (" " .. progress .. "%") or nil
  local elapsed = now() - self.t0
  if self.json then
    if not self.quiet then
      self:emit { event = "status", job_id = self.job_id, status = status, progress = progress, elapsed = round3(elapsed) }
    end
  elseif self.live then
    self:draw(self:status_line())
    if status == "DONE" or status == "FAIL" then self:settle() end
  else
    self:note(("job %s: %s%s (%s)"):format(tostring(self.job_id), status, self.percent or "", human_elapsed(elapsed)))
  end
  if self.job_id then self:remember { job_id = self.job_id, status = status, kind = self.kind } end
end

-- Called about 10 times a second while a task runs: keeps the elapsed time moving.
function Output:tick()
  if self.live and self.t0 and not self.downloading and not (self.status == "DONE" or self.status == "FAIL")
      and now() - self.last_draw >= 0.1 then
    self:draw(self:status_line())
  end
end

local BAR = 24

local function progress_line(ftype, done, total)
  if total and total > 0 then
    local frac = done / total
    if frac > 1 then frac = 1 end
    local filled = floor(frac * BAR + 0.5)
    return ("%-5s [%s%s] %3d%%  %s / %s"):format(ftype, ("#"):rep(filled), ("."):rep(BAR - filled),
      floor(frac * 100), human_bytes(done), human_bytes(total))
  end
  return ("%-5s %s"):format(ftype, human_bytes(done))
end
M.progress_line = progress_line

-- Download progress (on_progress): a bar on a terminal, throttled JSON events otherwise.
function Output:progressed(done, total, ftype)
  ftype = tostring(ftype or "file")
  if not self.downloading then
    self.downloading = true
    if self.live then self:settle() end
  end
  local p = self.progress[ftype]
  if not p then
    p = { first = true }
    self.progress[ftype] = p
  end
  if p.final then return end
  local final = total ~= nil and done >= total
  local t = now()
  if self.json then
    if self.quiet then return end
    if final or p.first or t - self.progress_at >= 0.1 then
      self.progress_at, p.first, p.done, p.final = t, false, done, final
      self:emit { event = "progress", job_id = self.job_id, type = ftype, done = done, total = total,
                  percent = total and total > 0 and floor(done / total * 100) or nil }
    end
  elseif self.live then
    if self.current_bar and self.current_bar ~= ftype then self:settle() end
    self.current_bar = ftype
    if final or p.first or t - self.last_draw >= 0.1 then
      p.first, p.final = false, final
      self:draw(progress_line(ftype, done, total))
      if final then
        self:settle()
        self.current_bar = nil
      end
    end
  end
end

-- A downloaded file.
function Output:saved(f)
  local ftype = tostring(f.type)
  if self.json then
    local p = self.progress[ftype]
    if not self.quiet and not (p and p.final) then
      self:emit { event = "progress", job_id = self.job_id, type = ftype, done = f.bytes, total = f.bytes, percent = 100 }
      if p then p.final = true end
    end
    self:emit { event = "file", job_id = self.job_id, type = ftype, path = f.path, bytes = f.bytes, dir = f.dir,
                entries = f.entries and #f.entries > 0 and f.entries or nil }
  else
    if self.live then self:settle() end
    self:out(("saved %s (%s, %s)\n"):format(f.path, ftype, human_bytes(f.bytes)))
    if f.dir then
      self:out(("extracted %d file%s into %s/\n"):format(#(f.entries or {}), #(f.entries or {}) == 1 and "" or "s",
        (f.dir:gsub("/+$", ""))))
    end
  end
end

return M
