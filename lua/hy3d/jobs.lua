--- hy3d.jobs: the local record of the jobs the hy3d command submitted, waited for or downloaded.
-- An append-only JSON-lines file: a submit appends { job_id, kind, door, base_url, prompt,
-- submitted_at }, later events append { job_id, status, files, ... }. Reading merges the lines
-- of each job_id (the latest value of a field wins, `files` accumulate, jobs keep the order of
-- their first line) and skips lines that do not parse. The record is private: the file is created
-- 0600 (one found wider is narrowed to 0600 on the next append), folders the record creates 0700.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local files = require "hy3d.files"
local validate = require "hy3d.validate"

local byte = string.byte

local PRIVATE_DIR = 448               -- 0700: the folders the record creates
local PRIVATE_FILE = 384              -- 0600: the record itself

-- A JobId as the record keeps it (validate.job_id): a non-empty string, or a whole number in
-- decimal; nil for anything else (1e400 is no JobId, and must not be recorded as "inf").
local id_string = validate.job_id

local M = {}

--- Where the record lives: HY3D_JOBS_FILE, else $XDG_STATE_HOME/hy3d/jobs.jsonl (an absolute
-- XDG_STATE_HOME only, as the XDG spec says), else ~/.local/state/hy3d/jobs.jsonl. `getenv`
-- defaults to os.getenv. Returns the path, or nil and a message when none can be made.
function M.default_path(getenv)
  getenv = getenv or os.getenv
  local file = getenv("HY3D_JOBS_FILE")
  if file and file ~= "" then return file end
  local state = getenv("XDG_STATE_HOME")
  if state and state:sub(1, 1) == "/" then return (state:gsub("/+$", "")) .. "/hy3d/jobs.jsonl" end
  local home = getenv("HOME")
  if home and home ~= "" then return (home:gsub("/+$", "")) .. "/.local/state/hy3d/jobs.jsonl" end
  return nil, "no place for the job record: set HY3D_JOBS_FILE, XDG_STATE_HOME or HOME"
end

--- The first `n` characters (UTF-8) of s; never cuts a character in two.
function M.excerpt(s, n)
  if type(s) ~= "string" then return nil end
  local i, count, len = 1, 0, #s
  while i <= len and count < n do
    local c = byte(s, i)
    local size = c < 0xC0 and 1 or c < 0xE0 and 2 or c < 0xF0 and 3 or 4
    i = i + size
    count = count + 1
  end
  if i > len + 1 then i = len + 1 end       -- a truncated last character: keep what there is
  return s:sub(1, i - 1)
end

local Record = {}
Record.__index = Record

--- A record on the file at `path` (nothing is read or created yet).
function M.open(path)
  if type(path) ~= "string" or path == "" then error("hy3d.jobs.open: expects a file path", 2) end
  return setmetatable({ path = path }, Record)
end

--- Appends one entry (a table with job_id: a string, or a whole number) as a JSON line, creating
-- the file (0600) and its missing directories (0700) when needed; never through a symbolic link.
-- Returns true, or nil and a message (the caller warns: a record that cannot be written must
-- never stop a job).
function Record:append(entry)
  if type(entry) ~= "table" or not id_string(entry.job_id) then
    error("hy3d.jobs: an entry needs a job_id (a string, or a whole number)", 2)
  end
  local line, err = core.encode(entry)
  if not line then return nil, "cannot encode the entry: " .. tostring(err) end
  local dir = self.path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then
    local ok, merr = files.mkdirs(dir, PRIVATE_DIR)
    if not ok then return nil, merr.message end
  end
  local ok, werr = core.append_private(self.path, line .. "\n", PRIVATE_FILE, true)   -- after a cut line: a new one
  if not ok then return nil, werr.message end
  return true
end

-- Folds one decoded line into the merged records.
local function merge(by_id, order, line)
  local id = id_string(line.job_id)
  if not id then return false end
  local rec = by_id[id]
  if not rec then
    rec = { job_id = id, files = {} }
    by_id[id] = rec
    order[#order + 1] = rec
  end
  for k, v in pairs(line) do
    local t = type(v)
    if k == "files" then
      if t == "table" then
        local seen = {}
        for _, p in ipairs(rec.files) do seen[p] = true end
        for _, p in ipairs(v) do
          if type(p) == "string" and not seen[p] then
            rec.files[#rec.files + 1] = p
            seen[p] = true
          end
        end
      end
    elseif k ~= "job_id" and (t == "string" or t == "number" or t == "boolean") then
      rec[k] = v
    end
  end
  return true
end

--- Reads the record: a list of merged jobs in the order they first appeared, and the number of
-- lines skipped because they did not parse. A missing file is an empty record; a file that
-- cannot be read gives nil and a message.
function Record:read()
  local f, err, errno = io.open(self.path, "rb")
  if not f then
    if errno == 2 then return {}, 0 end                -- ENOENT: nothing recorded yet
    return nil, tostring(err)
  end
  local by_id, order, skipped = {}, {}, 0
  local ok, rerr = pcall(function()
    while true do
      local text, lerr = f:read("*l")
      if not text then
        if lerr then error(lerr, 0) end
        return
      end
      if text:match("%S") then
        local decoded, line = pcall(core.decode, text)
        if not (decoded and type(line) == "table" and merge(by_id, order, line)) then skipped = skipped + 1 end
      end
    end
  end)
  f:close()
  if not ok then return nil, tostring(rerr) end
  return order, skipped
end

--- The merged record of one job, or nil when the record does not know it (or cannot be read).
function Record:get(job_id)
  local list = self:read()
  for _, rec in ipairs(list or {}) do
    if rec.job_id == job_id then return rec end
  end
  return nil
end

return M
