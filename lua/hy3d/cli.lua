--- hy3d.cli: the `hy3d` command (bin/hy3d): generate, submit, status, wait, download, jobs,
-- sandbox. main(argv [, env]) returns the exit code; output goes to io.stdout and io.stderr.
-- On a terminal it draws a live status line and download bars on stderr; otherwise (or with
-- --json) it writes one JSON object per line on stdout. Every job it submits is recorded
-- (hy3d.jobs) before it waits, so neither a crash nor Ctrl-C loses a JobId. No secret reaches
-- stdout, stderr or the record: every string is redacted, at any depth, before it is written.
-- --timeout bounds the whole command, the downloads included.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT): no integer division, bitwise operators, goto or utf8.
local core = require "hy3d.core"
local errors = require "hy3d.error"
local jobs = require "hy3d.jobs"
local validate = require "hy3d.validate"

local floor = math.floor
local concat = table.concat
local now = core.now

local M = {}

local DEFAULT_TIMEOUT = 1800      -- seconds --timeout gives a command that waits or downloads

--- The exit codes (documented in README.md, "The hy3d command").
local EXIT = {
  ok = 0,            -- done
  failed = 1,        -- the job ended with Status FAIL
  usage = 2,         -- bad command line or invalid input (caught locally, or InvalidParameter)
  auth = 3,          -- no credentials, AuthFailure*, HTTP 401/403 from the API
  network = 4,       -- network, HTTP or decode trouble (downloads included)
  timeout = 5,       -- the wait's --timeout passed (the job goes on)
  api = 6,           -- any other API error: rate limit, quota, unknown job, ...
  io = 7,            -- local files: cannot write, rename or extract a download
  internal = 70,     -- a bug in hy3d (an unexpected Lua error)
  interrupted = 130, -- Ctrl-C (SIGINT)
}
M.EXIT = EXIT

local PRO_TYPES = { normal = "Normal", lowpoly = "LowPoly", geometry = "Geometry", sketch = "Sketch" }
local PRO_RESULT_FORMATS = { STL = true, USDZ = true, FBX = true }
local RAPID_RESULT_FORMATS = { OBJ = true, GLB = true, STL = true, USDZ = true, FBX = true, MP4 = true }
-- File extensions of -o that name a File3D Type.
local EXT_TYPES = { glb = "GLB", obj = "OBJ", zip = "OBJ", stl = "STL", usdz = "USDZ", fbx = "FBX", mp4 = "MP4",
                    gif = "GIF" }

-- ===== usage =====

local CONNECT_HELP = [[
connection (defaults come from the environment; see `hy3d --help`):
  --base-url URL         the gateway's URL (HY3D_BASE_URL)
  --endpoint URL         the API 3.0 endpoint (HY3D_ENDPOINT)
  --region REGION        the API 3.0 region (TENCENTCLOUD_REGION; default ap-guangzhou)
  --retries N            retries of a failed request (network trouble, 429, 5xx; default 3)
  --door gateway|api3    which credentials to use when both sets are set (HY3D_DOOR); by
                         default a kind only API 3.0 offers (rapid) or a job recorded there
                         goes through API 3.0, anything else through the gateway when
                         HY3D_API_KEY is set
  --allow-http           allow a plain http:// URL to a host that is not this machine
  --language en-US|zh-CN the language of API 3.0's messages (HY3D_LANGUAGE; the service's
                         default is Chinese); no effect on the gateway, which has no such choice
  --api-key KEY          a gateway API key (discouraged: other users can read it in the process
                         list; set HY3D_API_KEY instead)
]]

local function output_help(json_default)
  return [[
output:
  --json                 one JSON object per line on stdout (]] .. (json_default
    and "the default when stdout is not a\n                         terminal)" or "else plain text, even in a pipe)") .. [[

  --text                 human-readable output even when stdout is not a terminal
  -q, --quiet            no status or progress, only results and errors
  --jobs-file FILE       the local job record (HY3D_JOBS_FILE; default
                         $XDG_STATE_HOME/hy3d/jobs.jsonl or ~/.local/state/hy3d/jobs.jsonl)
  -h, --help             this text
]]
end
local OUTPUT_HELP = output_help(true)

local JOB_HELP = [[
job:
  --kind pro|rapid       the job family (default pro; rapid needs API 3.0 credentials and
                         uses them even when HY3D_API_KEY is set)
  --image PATH|URL       an image to build from (PNG, JPEG or WebP; a URL is sent as ImageUrl)
  --view NAME=PATH|URL   another view of the object, for pro (repeatable; NAME is left, right,
                         back, top, bottom, left_front or right_front; needs --image)
  --model 3.0|3.1        the pro model version (default the service's, 3.0)
  --faces N              the face count (pro, 3000 to 1500000)
  --type TYPE            pro GenerateType: Normal, LowPoly, Geometry or Sketch
  --polygon TYPE         pro PolygonType: triangle or quadrilateral
  --pbr                  PBR materials (EnablePBR)
  --result-format FMT    an extra file type: STL, USDZ or FBX for pro; OBJ, GLB, STL, USDZ, FBX
                         or MP4 for rapid
  --no-validate          skip hy3d's local check of the job's parameters (the service still
                         checks them)
]]

local function wait_help(downloads)
  return [[
waiting:
  --timeout SECONDS      give up after this long (above 0), ]] .. (downloads
    and "waiting and downloading included\n                         (exit 5; the job goes on; default 1800)"
    or "waiting for the job only\n                         (exit 5; the job goes on; default 1800)") .. [[

  --interval SECONDS     seconds between status queries (default 5)
]]
end
local WAIT_HELP = wait_help(true)

local function save_help(checked)
  return [[
files:
  -o, --output PATH      where to save: a directory (ending in /), or a file name whose
                         extension (.glb, .obj, .zip, .stl, .usdz, .fbx) picks the format when
                         --format is not given; other types get the same base name
  --format LIST          file types to download, comma-separated (default GLB; "all" = every file)
  --dir DIR              the directory for the files (default .; -o is relative to it;
                         checked before ]] .. checked .. [[, created if missing)
  --extract              unzip zipped results (OBJ) into NAME_obj/
]]
end
local SAVE_HELP = save_help("the job is submitted")

local USAGE = {}

USAGE.main = [[
usage: hy3d <command> [options] [arguments]

Generate 3D models with Tencent Hunyuan 3D.

commands:
  generate PROMPT        submit a job, wait for it and download its files
  submit PROMPT          submit a job and print its JobId
  status JOBID           query a job once
  wait JOBID             wait until a job is DONE or FAIL
  download JOBID         wait for a job if need be, then download its files
  jobs                   list the local record of jobs
  sandbox [ARGS]         run hy3d-sandbox, the offline emulator (needs Lua 5.3+)
  help [COMMAND]         this text, or a command's

`hy3d COMMAND --help` lists a command's options. Credentials come from the environment:
HY3D_API_KEY (the gateway; HY3D_BASE_URL to point elsewhere) or TENCENTCLOUD_SECRET_ID and
TENCENTCLOUD_SECRET_KEY (API 3.0; TENCENTCLOUD_SESSION_TOKEN, TENCENTCLOUD_REGION, HY3D_ENDPOINT).
With both set, rapid jobs and jobs recorded on API 3.0 use API 3.0, others the gateway;
--door gateway|api3 or HY3D_DOOR chooses.

exit codes: 0 done, 1 the job failed, 2 usage or invalid input, 3 credentials or authentication,
4 network/HTTP, 5 timeout, 6 other API error, 7 local file error, 70 internal error,
130 interrupted.
]]

USAGE.generate = [[
usage: hy3d generate [options] PROMPT...
       hy3d generate [options] --image PATH [PROMPT...]

Submits a job, shows its status while it runs, then downloads its files. The JobId is
recorded before waiting: after Ctrl-C or a timeout, `hy3d download JOBID` picks up.
Without -o the files are named after the prompt (or the image file or URL), else after the
JobId. The output folder is checked before the submit: nothing is billed for files that could
not be saved.

]] .. JOB_HELP .. "\n" .. WAIT_HELP .. "\n" .. SAVE_HELP .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

USAGE.submit = [[
usage: hy3d submit [options] PROMPT...
       hy3d submit [options] --image PATH [PROMPT...]

Submits a job, records it and prints its JobId (alone on a line; with --json, a "submitted"
event). `hy3d wait JOBID` and `hy3d download JOBID` take it from there.

]] .. JOB_HELP .. "\n" .. CONNECT_HELP .. "\n" .. output_help(false)

local KIND_HELP = [[
  --kind KIND            the job family (default: the recorded one, else pro)
]]

USAGE.status = [[
usage: hy3d status [options] JOBID

Queries a job once and prints its status and result files. Exits 1 when the job FAILed.

job:
]] .. KIND_HELP .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

USAGE.wait = [[
usage: hy3d wait [options] JOBID

Waits until a job is DONE (prints its result files' types and URLs) or FAIL (exit 1).

job:
]] .. KIND_HELP .. "\n" .. wait_help(false) .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

USAGE.download = [[
usage: hy3d download [options] JOBID

Waits for a job if it is not DONE yet, then downloads its files. For a job that `hy3d generate`
submitted, what -o, --dir, --format and --extract do not say is what generate would have used
(its directory, file name, formats and --extract); otherwise the files go to the current
directory, named after the JobId, GLB by default.

job:
]] .. KIND_HELP .. "\n" .. WAIT_HELP .. "\n" .. save_help("waiting for the job") .. "\n" .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

USAGE.jobs = [[
usage: hy3d jobs [options]

Lists the local record of jobs (oldest first): JobId, kind, when it was submitted, last known
status, the prompt's start and the downloaded files.

  --limit N              only the last N jobs (0: none)
]] .. "\n" .. output_help(false)

USAGE.sandbox = [[
usage: hy3d sandbox [hy3d-sandbox options]

Runs hy3d-sandbox, the offline emulator of the service, in the foreground (needs Lua 5.3 or
newer). `hy3d sandbox --help` lists its options.
]]

-- ===== options =====

-- flag: no value; multi: repeatable (a list).
local OPTIONS = {
  ["--help"] = { key = "help", flag = true }, ["-h"] = { key = "help", flag = true },
  ["--json"] = { key = "json", flag = true }, ["--text"] = { key = "text", flag = true },
  ["--quiet"] = { key = "quiet", flag = true }, ["-q"] = { key = "quiet", flag = true },
  ["--jobs-file"] = { key = "jobs_file" },
  ["--api-key"] = { key = "api_key" }, ["--base-url"] = { key = "base_url" },
  ["--endpoint"] = { key = "endpoint" }, ["--region"] = { key = "region" }, ["--retries"] = { key = "retries" },
  ["--kind"] = { key = "kind" }, ["--model"] = { key = "model" }, ["--image"] = { key = "image" },
  ["--view"] = { key = "view", multi = true }, ["--faces"] = { key = "faces" }, ["--type"] = { key = "type" },
  ["--polygon"] = { key = "polygon" }, ["--pbr"] = { key = "pbr", flag = true },
  ["--result-format"] = { key = "result_format" },
  ["--timeout"] = { key = "timeout" }, ["--interval"] = { key = "interval" },
  ["-o"] = { key = "output" }, ["--output"] = { key = "output" }, ["--format"] = { key = "format" },
  ["--dir"] = { key = "dir" }, ["--extract"] = { key = "extract", flag = true },
  ["--limit"] = { key = "limit" },
  ["--door"] = { key = "door" }, ["--allow-http"] = { key = "allow_http", flag = true },
  ["--no-validate"] = { key = "no_validate", flag = true }, ["--language"] = { key = "language" },
}

local GROUPS = {
  common = { "--help", "-h", "--json", "--text", "--quiet", "-q", "--jobs-file" },
  connect = { "--api-key", "--base-url", "--endpoint", "--region", "--retries", "--door", "--allow-http", "--language" },
  kind = { "--kind" },
  job = { "--kind", "--model", "--image", "--view", "--faces", "--type", "--polygon", "--pbr", "--result-format",
          "--no-validate" },
  wait = { "--timeout", "--interval" },
  save = { "-o", "--output", "--format", "--dir", "--extract" },
  list = { "--limit" },
}

local COMMANDS = {
  generate = { "common", "connect", "job", "wait", "save" },
  submit = { "common", "connect", "job" },
  status = { "common", "connect", "kind" },
  wait = { "common", "connect", "kind", "wait" },
  download = { "common", "connect", "kind", "wait", "save" },
  jobs = { "common", "list" },
}

local function allowed(cmd)
  local set = {}
  for _, g in ipairs(COMMANDS[cmd]) do
    for _, name in ipairs(GROUPS[g]) do set[name] = OPTIONS[name] end
  end
  return set
end

-- A usage error: a message for stderr (one line) and exit code 2.
local function usage_error(message)
  return { kind = "usage", message = message }
end

-- Parses a command's arguments: options (--name value, --name=value, -o value, flags) anywhere,
-- "--" ends them. Returns the options and the positional arguments, or nil and a usage error.
-- Messages never repeat an option's value (it may be a key).
local function parse(cmd, args)
  local spec = allowed(cmd)
  local o, pos = { view = {} }, {}
  local i, only_positional = 1, false
  while i <= #args do
    local a = args[i]
    if only_positional or a == "-" or a:sub(1, 1) ~= "-" then
      pos[#pos + 1] = a
    elseif a == "--" then
      only_positional = true
    else
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local opt = spec[name]
      if not opt then
        if OPTIONS[name] then return nil, usage_error(("%s does not take %s"):format(cmd, name)) end
        return nil, usage_error("unknown option " .. name)
      end
      if opt.flag then
        if inline then return nil, usage_error(name .. " takes no value") end
        o[opt.key] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
          if v == nil then return nil, usage_error(name .. " needs a value") end
        end
        if v == "" then return nil, usage_error(name .. " needs a value, not an empty one") end
        if opt.multi then o[opt.key][#o[opt.key] + 1] = v else o[opt.key] = v end
      end
    end
    i = i + 1
  end
  return o, pos
end

-- A number option: nil when absent, else decimal digits (with a fraction unless `integer`): a
-- number >= min (> min when `above`), at most `max`; or a usage error, which never repeats the
-- value. `range` (optional) words the values wanted, when the real range is checked elsewhere.
local function number_option(o, key, name, min, integer, range, above, max)
  local v = o[key]
  if v == nil then return true end
  local want = range or ((above and "above " or ">= ") .. min)
  local kind = integer and "a whole number" or "a number"
  local digits = v:match("^%d+$") or (not integer and (v:match("^%d+%.%d*$") or v:match("^%.%d+$")))
  if not digits then
    if v:match("^[+-]?%d*%.?%d*$") and v:match("%d") then
      return nil, usage_error(("%s needs %s %s"):format(name, kind, want))
    end
    return nil, usage_error(("%s is not a number: give %s %s, in decimal digits"):format(name, kind, want))
  end
  local n = tonumber(v)
  if not n or n ~= n or n == math.huge or n < min or (above and n <= min) or n > (max or 1e15) then
    return nil, usage_error(("%s needs %s %s"):format(name, kind, want))
  end
  o[key] = n
  return true
end

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

-- A file name from a prompt: lower-case ASCII words joined by '-', at most 48 characters.
local function slug(s)
  if type(s) ~= "string" then return nil end
  local out = s:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):sub(1, 48):gsub("%-+$", "")
  if out == "" then return nil end
  return out
end

-- The message of a raised error without the "file:line: " Lua prepends.
local function bare(msg)
  msg = tostring(msg)
  return (msg:gsub("^[^\n:]*:%d+: ", ""))
end

-- The number of characters (UTF-8) in s: its bytes less the continuation bytes.
local function width(s)
  local _, continuation = s:gsub("[\128-\191]", "")
  return #s - continuation
end

local function split_list(s)
  local list = {}
  for item in s:gmatch("[^,%s]+") do list[#list + 1] = item end
  return list
end

local function is_url(s)
  return s:match("^https?://") ~= nil or s:match("^data:") ~= nil
end

-- ===== the context of one run: output, the record, secrets =====

local Ctx = {}
Ctx.__index = Ctx

local function new_ctx(env)
  local getenv = os.getenv
  if type(env) == "function" then
    getenv = env
  elseif type(env) == "table" then
    getenv = function(name)
      local v = env[name]
      if v == nil then return nil end
      if v == false then return nil end
      return tostring(v)
    end
  end
  local ctx = setmetatable({ getenv = getenv, secrets = {}, started = now(), last_draw = 0,
                             progress_at = 0, progress = {}, warned = {} }, Ctx)
  for _, name in ipairs { "HY3D_API_KEY", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN" } do
    ctx:secret(os.getenv(name))
    ctx:secret(getenv(name))
  end
  return ctx
end

-- Credentials shorter than this are refused (Ctx:connect), so never sent: they are not redacted,
-- which would cut them out of ordinary words ("w[redacted]rning" for a key "a").
local MIN_SECRET = 8

function Ctx:secret(s)
  if type(s) == "string" and #(s:match("^%s*(.-)%s*$")) >= MIN_SECRET then
    self.secrets[#self.secrets + 1] = s
    local trimmed = s:match("^%s*(.-)%s*$")
    if trimmed ~= s and trimmed ~= "" then self.secrets[#self.secrets + 1] = trimmed end
  end
end

function Ctx:redact(s)
  return errors.redact(s, self.secrets)
end

-- The live line on stderr (terminal only).
function Ctx:draw(line)
  io.stderr:write("\r", self:redact(line), "\27[K")
  io.stderr:flush()
  self.live_line = line
  self.last_draw = now()
end

-- Removes the live line (before other output).
function Ctx:clear()
  if self.live_line then
    io.stderr:write("\r\27[K")
    self.live_line = nil
  end
end

-- Ends the live line with a newline, so it stays on screen.
function Ctx:settle()
  if self.live_line then
    io.stderr:write("\n")
    io.stderr:flush()
    self.live_line = nil
  end
end

function Ctx:out(s)
  self:clear()
  io.stdout:write(self:redact(s))
  io.stdout:flush()
end

function Ctx:err(s)
  self:clear()
  io.stderr:write(self:redact(s))
  io.stderr:flush()
end

-- A JSON line on stdout (JSON mode).
function Ctx:emit(t)
  errors.redact_all(t, self.secrets)              -- before encoding: JSON may escape a secret ("\/")
  local line, err = core.encode(t)
  if not line then line = core.encode { event = "error", kind = "internal", message = "cannot encode: " .. tostring(err) } end
  self:out(line .. "\n")
end

-- A note for humans on stderr (text mode, not quiet).
function Ctx:note(s)
  if self.json or self.quiet then return end
  self:err(s .. "\n")
end

function Ctx:warn(s)
  if self.warned[s] then return end
  self.warned[s] = true
  self:err("hy3d: warning: " .. s .. "\n")
end

-- ===== the job record =====

function Ctx:record()
  if self.rec == nil then
    local path, err = self.jobs_file, nil
    if not path then path, err = jobs.default_path(self.getenv) end
    if path then
      self.rec = jobs.open(path)
    else
      self.rec = false
      self.rec_error = err
    end
  end
  return self.rec or nil
end

-- Appends to the record; a failure is a warning, never fatal.
function Ctx:remember(entry)
  errors.redact_all(entry, self.secrets)          -- a prompt or a server's JobId may hold a secret
  local rec = self:record()
  if not rec then
    self:warn("the job record is off: " .. tostring(self.rec_error))
    return
  end
  local ok, res, err = pcall(rec.append, rec, entry)
  if not ok or not res then
    self:warn(("cannot write the job record %s: %s"):format(rec.path, tostring(ok and err or res)))
  end
end

-- What the record knows about a job (nil when nothing, or it cannot be read).
function Ctx:lookup(id)
  local rec = self:record()
  if not rec then return nil end
  local ok, found = pcall(rec.get, rec, id)
  return ok and found or nil
end

-- An absolute version of a relative path (from PWD), for the record.
function Ctx:absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local pwd = self.getenv("PWD")
  if not pwd or pwd:sub(1, 1) ~= "/" then return path end
  path = (pwd:gsub("/+$", "")) .. "/" .. path
  local n
  repeat path, n = path:gsub("/%./", "/") until n == 0
  return (path:gsub("/%.$", ""):gsub("//+", "/"))
end

-- ===== events: status, progress, files =====

function Ctx:submitted(job, extra)
  self.job_id, self.kind = job.JobId, job.kind
  if self.json then
    local e = { event = "submitted", job_id = job.JobId, kind = job.kind, request_id = job.RequestId }
    for k, v in pairs(extra or {}) do e[k] = v end
    self:emit(e)
  else
    self:note(("submitted %s job %s"):format(tostring(job.kind), job.JobId))
  end
end

function Ctx:status_line()
  if not self.job_id then return "submitting ...  " .. human_elapsed(now() - self.t0) end
  return ("job %s: %s  %s"):format(self.job_id, tostring(self.status or "..."), human_elapsed(now() - self.t0))
end

-- A new status from a query (on_status).
function Ctx:status_changed(res)
  local status = type(res.Status) == "string" and res.Status:upper() or errors.text(res.Status)
  self.status = status
  local elapsed = now() - self.t0
  if self.json then
    if not self.quiet then
      self:emit { event = "status", job_id = self.job_id, status = status, elapsed = round3(elapsed) }
    end
  elseif self.live then
    self:draw(self:status_line())
    if status == "DONE" or status == "FAIL" then self:settle() end
  else
    self:note(("job %s: %s (%s)"):format(tostring(self.job_id), status, human_elapsed(elapsed)))
  end
  if self.job_id then self:remember { job_id = self.job_id, status = status, kind = self.kind } end
end

-- Called about 10 times a second while a task runs: keeps the elapsed time moving.
function Ctx:tick()
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

-- Download progress (on_progress): a bar on a terminal, throttled JSON events otherwise.
function Ctx:progressed(done, total, ftype)
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
function Ctx:saved(f)
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

-- ===== errors =====

local AUTH_HTTP = { [401] = true, [403] = true }

-- The exit code of an hy3d error; `phase` is "download" once the job is DONE.
local function exit_code(err, phase)
  local kind, code = err.kind, tostring(err.code or "")
  -- Ctrl-C raises "interrupted!" wherever Lua runs next: inside a callback or another local
  -- pcall it comes back as an error of one of these kinds (never one the server worded)
  if (kind == "callback" or kind == "invalid" or kind == "decode" or kind == "io")
      and tostring(err.message or ""):find("interrupted!", 1, true) then
    return EXIT.interrupted
  end
  if kind == "usage" then return EXIT.usage end
  if kind == "job" then return EXIT.failed end
  if kind == "invalid" then
    return (code == "NO_CREDENTIALS" or code == "HALF_CREDENTIALS" or code == "BAD_CREDENTIALS") and EXIT.auth
      or EXIT.usage
  end
  if kind == "timeout" then return EXIT.timeout end
  if kind == "io" then return EXIT.io end
  if kind == "api" then
    if code:match("^AuthFailure") then return EXIT.auth end
    if code:match("^InvalidParameter") or code:match("^MissingParameter") or code:match("^UnknownParameter") then
      return EXIT.usage
    end
    return EXIT.api
  end
  if kind == "http" then
    if phase ~= "download" and AUTH_HTTP[err.http_status] then return EXIT.auth end
    return EXIT.network
  end
  if kind == "network" or kind == "decode" then return EXIT.network end
  return EXIT.internal
end
M.exit_code = exit_code

-- Library option names in a message, put in the command line's words.
local LUA_WORDS = {
  -- the library's hints (hy3d.error) name a variable and its option: keep the variable
  { "HY3D_API_KEY (or api_key)", "HY3D_API_KEY (or --api-key)" },
  { "(TENCENTCLOUD_SECRET_KEY or secret_key)", "(TENCENTCLOUD_SECRET_KEY)" },
  { "TENCENTCLOUD_SECRET_ID (or secret_id)", "TENCENTCLOUD_SECRET_ID" },
  { "(TENCENTCLOUD_SESSION_TOKEN or token)", "(TENCENTCLOUD_SESSION_TOKEN)" },
  { "set region (or TENCENTCLOUD_REGION)", "pass --region (or set TENCENTCLOUD_REGION)" },
  { ", or pass max_concurrent_jobs so submits queue for a slot", ", then submit again" },
  { "validate = false", "--no-validate" }, { "allow_http = true", "--allow-http" },
  { "pass api_key", "set HY3D_API_KEY" }, { "api_key", "HY3D_API_KEY" },
  { "secret_id and secret_key", "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" },
  { "secret_id", "TENCENTCLOUD_SECRET_ID" }, { "secret_key", "TENCENTCLOUD_SECRET_KEY" },
  { "base_url", "--base-url (HY3D_BASE_URL)" }, { "max_retries", "--retries" }, { "hy3d.new: ", "" },
}

-- The library's pointer to the `language` option (in a hint about the service's Chinese message).
local LANGUAGE_NOTE = '%s*%([^()]*language = "en%-US"[^()]*%)'

local function cli_words(message)
  message = tostring(message)
  message = message:gsub(LANGUAGE_NOTE, " (--language en-US or HY3D_LANGUAGE=en-US gets the message in English)")
  for _, w in ipairs(LUA_WORDS) do               -- plain text: the pattern and replacement escaped
    message = message:gsub(w[1]:gsub("%p", "%%%0"), (w[2]:gsub("%%", "%%%%")))
  end
  return message
end

-- The flags of the job parameters hy3d's local validation names.
local FIELD_FLAGS = {
  Prompt = "the prompt", FaceCount = "--faces", GenerateType = "--type", PolygonType = "--polygon",
  ResultFormat = "--result-format", Model = "--model", EnablePBR = "--pbr", ImageBase64 = "--image",
  ImageUrl = "--image", MultiViewImages = "--view",
}

-- An error of the library, in the command line's words (a copy; the message names the flag).
-- A local check's message names the flag instead of the field and leaves out the value it got
-- (usage errors never repeat a value). `door` and `language` (the command's) decide whether the
-- hint about the service's Chinese messages points to --language: only on API 3.0, and only
-- when the language is not English already.
local function translate(err, door, language)
  if type(err) ~= "table" or type(err.message) ~= "string" then return err end
  local message, hint = cli_words(err.message), err.hint and cli_words(err.hint)
  if hint and (door ~= "api3" or language == "en-US") then
    hint = hint:gsub("%s*%(%-%-language en%-US[^)]*%)", "")
  end
  if err.code == "INVALID_PARAMETER" and type(err.field) == "string" then
    local field = err.field:match("^[%w]+")
    local flag = FIELD_FLAGS[field] or FIELD_FLAGS[err.field:match("([%w]+)$")]
    if flag then
      local rule = message
      local a, b = rule:find(err.field .. ": ", 1, true)
      if a == 1 then rule = rule:sub(b + 1) end
      if field ~= "Prompt" and field ~= "ImageBase64" then
        rule = rule:gsub(", got [^(]-( %(checked locally)", "%1"):gsub(", got [^(]*$", "")
      end
      rule = rule:gsub("Model 3%.1", "--model 3.1")
      message = flag .. ": " .. rule
    end
  end
  if message == err.message and hint == err.hint then return err end
  local copy = setmetatable({}, getmetatable(err))
  for k, v in pairs(err) do copy[k] = v end
  copy.message, copy.hint = message, hint
  return copy
end

-- Reports an error (stderr, and an "error" event in JSON mode) with a hint, and returns the
-- exit code.
function Ctx:fail(err)
  err = translate(err, self.door, self.language)
  local code = exit_code(err, self.phase)
  if code == EXIT.interrupted then return self:interrupted() end
  local job_id = err.job_id or self.job_id
  if self.live then self:settle() end
  if self.json and err.kind ~= "usage" then
    self:emit { event = "error", kind = err.kind, code = err.code, message = err.message, job_id = job_id,
                http_status = err.http_status, request_id = err.request_id, exit = code }
  end
  if err.kind == "usage" then
    self:err(("hy3d%s: %s (see `hy3d%s --help`)\n"):format(self.cmd and (" " .. self.cmd) or "", err.message,
      self.cmd and (" " .. self.cmd) or ""))
    return code
  end
  self:err(tostring(err) .. "\n")
  local hint
  if code == EXIT.timeout and job_id and self.phase == "download" then
    hint = ("job %s is DONE: `hy3d download %s` fetches its files (resuming what arrived)"):format(job_id, job_id)
  elseif code == EXIT.timeout and job_id then
    hint = ("job %s goes on at the service: `hy3d wait %s` waits again, `hy3d download %s` waits and "
      .. "fetches its files"):format(job_id, job_id, job_id)
  elseif code == EXIT.auth and err.kind ~= "invalid" then
    if self.door == "api3" then
      hint = ("check the credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (and "
        .. "TENCENTCLOUD_SESSION_TOKEN when set) for API 3.0, used because %s"):format(self.door_why)
    elseif self.door == "gateway" then
      hint = ("check the credentials: %s for the gateway, used because %s"):format(self.key_from, self.door_why)
    else
      hint = "check the credentials: HY3D_API_KEY for the gateway, TENCENTCLOUD_SECRET_ID and "
        .. "TENCENTCLOUD_SECRET_KEY for API 3.0"
    end
  elseif self.phase == "download" and job_id and (code == EXIT.network or code == EXIT.io) then
    hint = ("job %s is DONE: `hy3d download %s` fetches its files again"):format(job_id, job_id)
  elseif code == EXIT.api and job_id and self.client then
    local rec = self:lookup(job_id)
    if rec and type(rec.base_url) == "string" and rec.base_url ~= self.client.base_url then
      hint = ("job %s was submitted to %s, not %s"):format(job_id, rec.base_url, self.client.base_url)
    elseif not rec and not self.kind_given and self.kind == "pro" and err.kind == "api"
        and (tostring(err.code):match("JobNotFound$") or tostring(err.code):match("^ResourceNotFound")) then
      hint = ("job %s is not in the job record, so it was asked for as a pro job: if it is a rapid job, "
        .. "add --kind rapid"):format(job_id)
    end
  end
  if hint then self:err("hy3d: " .. hint .. "\n") end
  return code
end

function Ctx:interrupted()
  if self.live then self:settle() end
  local id = self.job_id
  local message
  if id and self.phase == "download" then
    message = ("interrupted; job %s is DONE: `hy3d download %s` fetches its files"):format(id, id)
  elseif id then
    message = ("interrupted; job %s goes on at the service: resume with `hy3d wait %s` (or `hy3d download %s` "
      .. "to wait and fetch its files)"):format(id, id, id)
  else
    message = "interrupted"
  end
  if self.json then
    self:emit { event = "error", kind = "interrupted", code = "INTERRUPTED", message = message, job_id = id,
                exit = EXIT.interrupted }
  end
  self:err("hy3d: " .. message .. "\n")
  return EXIT.interrupted
end

-- ===== running library calls =====

-- The error of a command that outlived --timeout (self.deadline), by phase; `cause` is the
-- library's error when it ended the call.
function Ctx:timed_out(cause)
  local id, limit = self.job_id, self.limit
  if self.phase == "download" then
    return errors.new({ kind = "timeout", code = "DOWNLOAD_TIMEOUT", job_id = id, cause = cause,
      message = ("the files of job %s did not arrive within --timeout %g s"):format(tostring(id), limit) }, self.secrets)
  end
  return errors.new({ kind = "timeout", code = "WAIT_TIMEOUT", job_id = id, status = self.status, cause = cause,
    message = ("job %s did not finish within %g s (last status %s); it goes on at the service"):format(
      tostring(id or "(not submitted)"), limit, tostring(self.status)) }, self.secrets)
end

-- A failure at or after the deadline that the deadline caused (a transfer cut short) is a timeout.
function Ctx:deadline_error(err)
  if self.deadline and now() >= self.deadline and type(err) == "table"
      and (err.kind == "network" or err.kind == "timeout") then
    return self:timed_out(err)
  end
  return err
end

-- Runs fn in an hy3d task and pumps it, ticking the live line about 10 times a second. Returns
-- what fn returns; an error fn raises is raised again. Past self.deadline (--timeout) the task
-- is given up and its transfers cancelled: nil and a timeout error.
function Ctx:drive(fn)
  local hy3d = require "hy3d"
  local scheduler = require "hy3d.scheduler"
  local on_error = scheduler.on_error
  scheduler.on_error = function(task) return task end       -- reported by the caller instead
  local task = hy3d.spawn(fn)
  while task:status() == "running" do
    local left = self.deadline and self.deadline - now()
    if left and left <= 0 then
      scheduler.on_error = on_error
      if self.client then self.client:close() end            -- cancels the transfers; a partial file stays
      return nil, self:timed_out()
    end
    hy3d.step(left and math.min(0.1, left) or 0.1)
    self:tick()
  end
  scheduler.on_error = on_error
  if task:status() == "failed" then error(task.traceback or task.error, 0) end
  return task:result()
end

-- Starts the --timeout clock of a command that waits and downloads.
function Ctx:start_clock(o)
  self.limit = o.timeout or DEFAULT_TIMEOUT
  self.deadline = now() + self.limit
end

-- A callback for the library that can never raise (except for Ctrl-C, which must get through).
local function guarded(ctx, fn)
  return function(...)
    local ok, err = pcall(fn, ...)
    if not ok then
      if tostring(err):find("interrupted!", 1, true) then error(err, 0) end
      ctx:warn("internal: " .. tostring(err))
    end
  end
end

-- A credentials error: exit 3, a message that names variables and flags.
local function credentials_error(code, message)
  return errors.new { kind = "invalid", code = code, message = message }
end

-- A variable of the process environment (the library's credentials live there), trimmed; nil
-- when unset or blank.
local function process_env(name)
  local v = os.getenv(name)
  if not v then return nil end
  v = v:match("^%s*(.-)%s*$")
  if v == "" then return nil end
  return v
end

local loopback = validate.loopback

-- Which door (gateway or api3) a command uses, from --door, HY3D_DOOR, the job's kind, the job
-- record and the credentials that are set; and why, in the words of the command line.
-- `kind`/`kind_from` (a phrase) and `rec` (the job record's entry) are optional.
function Ctx:choose_door(o, cred, kind, kind_from, rec)
  local chosen, by = o.door, "--door"
  if not chosen then
    chosen, by = self.getenv("HY3D_DOOR"), "HY3D_DOOR"
    if chosen and not chosen:match("%S") then chosen = nil end
  end
  if chosen then
    chosen = chosen:match("^%s*(.-)%s*$"):lower()
    if chosen ~= "gateway" and chosen ~= "api3" then
      return nil, usage_error(by .. " is gateway or api3")
    end
    return chosen, (by == "--door" and "--door " or "HY3D_DOOR=") .. chosen
  end
  if kind and kind ~= "pro" then return "api3", kind_from end
  if rec and (rec.door == "api3" and cred.api3 or rec.door == "gateway" and cred.key) then
    return rec.door, ("the job record (job %s was submitted through %s)"):format(tostring(rec.job_id),
      rec.door == "api3" and "API 3.0" or "the gateway")
  end
  if cred.key then return "gateway", cred.key_from .. " is set" end
  if cred.api3 or cred.id or cred.secret then return "api3", "TENCENTCLOUD_SECRET_ID is set" end
  return nil, credentials_error("NO_CREDENTIALS", "no credentials: set HY3D_API_KEY for the gateway, or "
    .. "TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY for API 3.0")
end

-- Creates the client of a command: the credentials and URLs resolved here, so that every
-- message names a flag or a variable. `kind`, `kind_from` and `rec` decide the door (see
-- choose_door).
function Ctx:connect(o, kind, kind_from, rec)
  local hy3d = require "hy3d"
  if o.api_key then
    self:secret(o.api_key)
    self:warn("--api-key shows the key in the process list and shell history; prefer HY3D_API_KEY")
  end
  local valid, err = number_option(o, "retries", "--retries", 0, true)
  if not valid then return nil, err end
  local cred = { key = o.api_key and o.api_key:match("^%s*(.-)%s*$"), key_from = "--api-key" }
  if cred.key == "" then cred.key = nil end
  if not o.api_key then cred.key, cred.key_from = process_env("HY3D_API_KEY"), "HY3D_API_KEY" end
  cred.id, cred.secret = process_env("TENCENTCLOUD_SECRET_ID"), process_env("TENCENTCLOUD_SECRET_KEY")
  cred.token = process_env("TENCENTCLOUD_SESSION_TOKEN")
  cred.api3 = cred.id ~= nil and cred.secret ~= nil
  for _, c in ipairs { { cred.key, cred.key_from }, { cred.id, "TENCENTCLOUD_SECRET_ID" },
                       { cred.secret, "TENCENTCLOUD_SECRET_KEY" }, { cred.token, "TENCENTCLOUD_SESSION_TOKEN" } } do
    if c[1] and c[1]:find("%c") then
      return nil, credentials_error("BAD_CREDENTIALS", c[2] .. " contains control characters")
    end
    if c[1] and c[2] ~= "TENCENTCLOUD_SECRET_ID" and #c[1] < MIN_SECRET then
      return nil, credentials_error("BAD_CREDENTIALS", ("%s is too short to be a credential (fewer than %d "
        .. "characters): check what it is set to"):format(c[2], MIN_SECRET))
    end
  end
  local language, language_from = o.language, "--language"
  if not language then language, language_from = self.getenv("HY3D_LANGUAGE"), "HY3D_LANGUAGE" end
  if language and language:match("%S") then
    language = ({ ["en-us"] = "en-US", ["zh-cn"] = "zh-CN" })[language:match("^%s*(.-)%s*$"):lower()]
    if not language then return nil, usage_error(language_from .. " is en-US or zh-CN") end
  else
    language = nil
  end
  local door, why = self:choose_door(o, cred, kind, kind_from, rec)
  if not door then return nil, why end
  self.door, self.door_why, self.key_from, self.language = door, why, cred.key_from, language
  if door == "gateway" then
    if kind and kind ~= "pro" then
      return nil, errors.new { kind = "invalid", code = "KIND_NEEDS_API3",
        message = ("%s chose the gateway, which offers only pro jobs; a %s job needs API 3.0 (--door api3)"):format(
          why, kind) }
    end
    if not cred.key then
      return nil, credentials_error("NO_CREDENTIALS", why .. " chose the gateway, but HY3D_API_KEY is not set")
    end
  elseif not cred.api3 then
    if cred.id or cred.secret then
      return nil, credentials_error("HALF_CREDENTIALS", ("%s is set but %s is not: API 3.0 needs both"):format(
        cred.id and "TENCENTCLOUD_SECRET_ID" or "TENCENTCLOUD_SECRET_KEY",
        cred.id and "TENCENTCLOUD_SECRET_KEY" or "TENCENTCLOUD_SECRET_ID"))
    end
    local verb = (why:match("^%-%-door") or why:match("^HY3D_DOOR")) and "chose" or "needs"
    return nil, credentials_error("NO_CREDENTIALS", ("%s %s API 3.0: set TENCENTCLOUD_SECRET_ID and "
      .. "TENCENTCLOUD_SECRET_KEY%s"):format(why, verb, cred.key and " (HY3D_API_KEY is for the gateway, which offers "
      .. "only pro jobs)" or ""))
  end
  if door == "gateway" and (cred.id ~= nil) ~= (cred.secret ~= nil) then
    self:warn(("%s is set without %s; using the gateway (%s)"):format(
      cred.id and "TENCENTCLOUD_SECRET_ID" or "TENCENTCLOUD_SECRET_KEY",
      cred.id and "TENCENTCLOUD_SECRET_KEY" or "TENCENTCLOUD_SECRET_ID", cred.key_from))
  end
  local flag, var = "--base-url", "HY3D_BASE_URL"
  if door == "api3" then flag, var = "--endpoint", "HY3D_ENDPOINT" end
  local url, url_from = o[door == "api3" and "endpoint" or "base_url"], flag
  if not url then url, url_from = process_env(var), var end
  if url then
    if not url:match("^https?://[^/%s]+") then
      return nil, usage_error(url_from .. " must be an http:// or https:// URL")
    end
    if url:match("^http://") and not o.allow_http and not loopback(url) then
      return nil, usage_error(url_from .. " is plain http:// to a host that is not this machine; use https://, "
        .. "or add --allow-http if you mean it")
    end
  end
  local ok, client = pcall(hy3d.new, {
    api_key = door == "gateway" and cred.key or nil,
    secret_id = door == "api3" and cred.id or nil, secret_key = door == "api3" and cred.secret or nil,
    token = door == "api3" and cred.token or nil,
    base_url = door == "gateway" and url or nil, endpoint = door == "api3" and url or nil,
    region = o.region, max_retries = o.retries, allow_http = o.allow_http or nil,
    language = door == "api3" and language or nil,                 -- the gateway has no such choice
    validate = not o.no_validate })
  -- hy3d.new raises a message string; the credentials it checks (length, control characters)
  -- were checked above, naming the variable, so what is left is a usage error
  if not ok then return nil, usage_error(cli_words(bare(client))) end
  self.client = client
  return client
end

-- ===== job parameters and where files go =====

local function job_params(o, pos, kind)
  local hy3d = require "hy3d"
  local p = {}
  if #pos > 0 then p.Prompt = concat(pos, " ") end
  if not p.Prompt and not o.image then return nil, usage_error("give a prompt, or an image with --image") end
  local pro_only = { model = "--model", faces = "--faces", type = "--type", polygon = "--polygon" }
  if kind ~= "pro" then
    for key, name in pairs(pro_only) do
      if o[key] then return nil, usage_error(name .. " is for pro jobs") end
    end
    if #o.view > 0 then return nil, usage_error("--view is for pro jobs") end
  end
  local views
  if #o.view > 0 then
    if not o.image then return nil, usage_error("--view needs --image (the front view)") end
    views = {}
    for _, v in ipairs(o.view) do
      local name, where = v:match("^([%w_]+)=(.+)$")
      if not name then return nil, usage_error("--view needs NAME=PATH or NAME=URL") end
      if views[name] then return nil, usage_error("--view names the same view twice") end
      views[name] = where
    end
  end
  if o.image then
    if is_url(o.image) then
      p.ImageUrl = o.image
    else
      local b64, info = hy3d.image(o.image)
      if not b64 then return nil, info end
      p.ImageBase64 = b64
    end
  end
  if views then
    local list, err = hy3d.views(views)
    if not list then return nil, err end
    p.MultiViewImages = list
  end
  if o.model then
    if o.model ~= "3.0" and o.model ~= "3.1" then return nil, usage_error("--model is 3.0 or 3.1") end
    p.Model = o.model
  end
  local ok, err = number_option(o, "faces", "--faces", 1, true, "from 3000 to 1500000", false, 2147483647)
  if not ok then return nil, err end
  p.FaceCount = o.faces
  if o.type then
    p.GenerateType = PRO_TYPES[o.type:lower()]
    if not p.GenerateType then return nil, usage_error("--type is Normal, LowPoly, Geometry or Sketch") end
  end
  if o.polygon then
    local poly = o.polygon:lower()
    if poly ~= "triangle" and poly ~= "quadrilateral" then
      return nil, usage_error("--polygon is triangle or quadrilateral")
    end
    p.PolygonType = poly
  end
  if o.pbr then p.EnablePBR = true end
  if o.result_format then
    local rf = o.result_format:upper()
    if kind == "pro" and not PRO_RESULT_FORMATS[rf] then
      return nil, usage_error("--result-format is STL, USDZ or FBX for pro jobs")
    elseif kind == "rapid" and not RAPID_RESULT_FORMATS[rf] then
      return nil, usage_error("--result-format is OBJ, GLB, STL, USDZ, FBX or MP4 for rapid jobs")
    end
    p.ResultFormat = rf
  end
  return p
end

-- Where and what to download: { dir, name, formats, extract } from -o, --dir, --format,
-- --extract (nil fields: the library's defaults). `explicit` says whether any was given.
local function save_options(o)
  local s = { extract = o.extract or nil }
  local ext_type
  if o.output then
    local out = o.output
    local d, base = out:match("^(.*)/([^/]*)$")
    if not d then d, base = nil, out end
    if d == "" then d = "/" end
    if base == "" or base == "." or base == ".." then
      d = out
    else
      local stem, ext = base:match("^(.+)%.(%w+)$")
      if stem and EXT_TYPES[ext:lower()] then
        s.name, ext_type = stem, EXT_TYPES[ext:lower()]
      else
        s.name = base
      end
    end
    if d and o.dir and d:sub(1, 1) ~= "/" then d = (o.dir:gsub("/+$", "")) .. "/" .. d end
    s.dir = d or o.dir
  else
    s.dir = o.dir
  end
  if o.format then
    local list = split_list(o.format)
    if #list == 0 then return nil, usage_error("--format needs a list of file types, e.g. glb,obj") end
    for i, f in ipairs(list) do
      if not f:match("^[%w_]+$") then return nil, usage_error("--format: not a file type name") end
      list[i] = f:lower() == "all" and "all" or f:upper()
    end
    s.formats = list
  elseif ext_type then
    s.formats = { ext_type }
  end
  return s
end

-- Fills in what generate's files need from the job: the default formats, and the ResultFormat a
-- requested STL/USDZ/FBX (pro) or a rapid job's single file needs.
local function reconcile(params, save, kind)
  if not save.formats then
    save.formats = { params.ResultFormat or "GLB" }
    if kind == "rapid" and not params.ResultFormat then params.ResultFormat = "GLB" end
    return true
  end
  if save.formats[1] == "all" then return true end
  if kind == "pro" then
    for _, f in ipairs(save.formats) do
      if not (f == "OBJ" or f == "GLB" or PRO_RESULT_FORMATS[f]) then
        return nil, usage_error("--format: a pro job makes OBJ, GLB and one of STL, USDZ and FBX (or give all)")
      end
      if f == "OBJ" and params.GenerateType == "Geometry" then
        return nil, usage_error("a Geometry job makes a GLB only")
      end
    end
  end
  if kind == "pro" and not params.ResultFormat then
    local extra
    for _, f in ipairs(save.formats) do
      if PRO_RESULT_FORMATS[f] then
        if extra and extra ~= f then
          return nil, usage_error("a pro job makes at most one of STL, USDZ and FBX")
        end
        extra = f
      end
    end
    params.ResultFormat = extra
  elseif kind == "rapid" and not params.ResultFormat then
    if #save.formats > 1 or not RAPID_RESULT_FORMATS[save.formats[1]] then
      return nil, usage_error("a rapid job makes one file: --format OBJ, GLB, STL, USDZ, FBX, MP4 or all")
    end
    params.ResultFormat = save.formats[1]
  end
  return true
end

local function file_list(files)
  local out = {}
  for i, f in ipairs(files) do
    out[i] = { type = f.type, path = f.path, bytes = f.bytes, dir = f.dir }
  end
  return out
end

local function result_urls(res)
  local out = {}
  for i, f in ipairs(type(res.ResultFile3Ds) == "table" and res.ResultFile3Ds or {}) do
    out[i] = { type = f.Type, url = f.Url, preview = f.PreviewImageUrl }
  end
  return out
end

-- A file name from an --image: the file's name, or the URL's last path segment, without its
-- extension (nil for a data: URL, which has no path, or when nothing usable is left: the JobId
-- names the files).
local function image_name(image)
  local last
  if is_url(image) then
    last = (image:match("^%a+://[^/?#]*(/[^?#]*)") or ""):match("([^/]*)$")
  else
    last = image:match("([^/]*)$")
  end
  return slug((last or ""):gsub("%.%w+$", ""))
end

local ENOENT, ENOTDIR = 2, 20                       -- Linux's errno values (io.open's third result)

-- Checks, before anything is submitted, that the files can go to `dir` (nil: the current
-- folder): each part of it that exists is a folder, and the deepest that exists can be written
-- (the rest is created at download time). Returns true, or nil and an io error.
local function check_dir(dir)
  dir = dir or "."
  local function fail(message)
    return nil, errors.new { kind = "io", code = "OUTPUT_DIR", message = ("cannot save to %s: %s"):format(dir, message) }
  end
  local path = dir:sub(1, 1) == "/" and "/" or ""
  local deepest = path == "/" and "/" or "."
  for part in dir:gmatch("[^/]+") do
    local p = path .. part
    local f, msg, errno = io.open(p .. "/.", "rb")
    if f then
      f:close()
      deepest = p
    elseif errno == ENOTDIR or tostring(msg):find("Not a directory", 1, true) then
      return fail(p .. " is not a folder")
    elseif errno == ENOENT then
      break
    else
      return fail(("cannot reach %s (%s)"):format(p, tostring(msg):match("[^:]*$"):gsub("^%s+", "")))
    end
    path = p .. "/"
  end
  local probe = ("%s/.hy3d-write-check-%d-%d"):format(deepest == "/" and "" or deepest, os.time(),
    math.random(1, 1e9))
  local f, msg = io.open(probe, "wb")
  if not f then
    return fail(("cannot write in %s (%s)"):format(deepest, tostring(msg):match("[^:]*$"):gsub("^%s+", "")))
  end
  f:close()
  os.remove(probe)
  return true
end

-- ===== commands =====

local function check_wait_options(o)
  local ok, err = number_option(o, "timeout", "--timeout", 0, false, nil, true)
  if ok then ok, err = number_option(o, "interval", "--interval", 0) end
  return ok, err
end

-- Records the files of a download and reports them, then the result event.
local function finish_download(ctx, files, res_kind)
  local paths = {}
  for _, f in ipairs(files) do
    ctx:saved(f)
    paths[#paths + 1] = ctx:absolute(f.path)
    if f.dir then paths[#paths + 1] = ctx:absolute((f.dir:gsub("/+$", "")) .. "/") end
  end
  ctx:remember { job_id = ctx.job_id, status = "DONE", files = paths }
  if ctx.json then
    ctx:emit { event = "result", job_id = ctx.job_id, kind = res_kind, status = "DONE",
               elapsed = round3(now() - ctx.t0), files = file_list(files) }
  end
  return EXIT.ok
end

-- A failed download may have saved some files first (err.files): they are reported and
-- recorded before the error.
function Ctx:fail_download(err)
  if type(err) == "table" and type(err.files) == "table" and #err.files > 0 and self.job_id then
    local paths = {}
    for _, f in ipairs(err.files) do
      self:saved(f)
      paths[#paths + 1] = self:absolute(f.path)
    end
    self:remember { job_id = self.job_id, files = paths }
  end
  return self:fail(err)
end

local function cmd_generate(ctx, o, pos)
  local kind = o.kind or "pro"
  if kind ~= "pro" and kind ~= "rapid" then return ctx:fail(usage_error("--kind is pro or rapid")) end
  local ok, err = check_wait_options(o)
  if not ok then return ctx:fail(err) end
  local save
  save, err = save_options(o)
  if not save then return ctx:fail(err) end
  local params
  params, err = job_params(o, pos, kind)
  if not params then return ctx:fail(err) end
  ok, err = reconcile(params, save, kind)
  if not ok then return ctx:fail(err) end
  if not save.name then save.name = slug(params.Prompt) or (o.image and image_name(o.image)) or nil end
  ok, err = check_dir(save.dir)
  if not ok then return ctx:fail(err) end
  local client
  client, err = ctx:connect(o, kind, o.kind and ("--kind " .. kind))
  if not client then return ctx:fail(err) end
  ctx.t0 = now()
  ctx:start_clock(o)
  local res, gerr = ctx:drive(function()
    return client:generate(params, {
      kind = kind, formats = save.formats, dir = save.dir, name = save.name, extract = save.extract,
      interval = o.interval, timeout = o.timeout, download_timeout = ctx.limit,
      on_submit = guarded(ctx, function(job)
        ctx.t0 = now()
        ctx:remember { job_id = job.JobId, kind = job.kind, door = client.mode, base_url = client.base_url,
                       prompt = jobs.excerpt(params.Prompt, 80), image = o.image and jobs.excerpt(o.image, 80) or nil,
                       submitted_at = os.time(), dir = ctx:absolute(save.dir or "."), name = save.name,
                       formats = concat(save.formats, ","), extract = save.extract }
        ctx:submitted(job)
      end),
      on_status = guarded(ctx, function(r)
        ctx:status_changed(r)
        if ctx.status == "DONE" then ctx.phase = "download" end
      end),
      on_progress = guarded(ctx, function(done, total, ftype)
        ctx.phase = "download"
        ctx:progressed(done, total, ftype)
      end),
    })
  end)
  if not res then return ctx:fail_download(ctx:deadline_error(gerr)) end
  ctx.job_id = ctx.job_id or (res.job and res.job.JobId)
  return finish_download(ctx, res.files or {}, kind)
end

local function cmd_submit(ctx, o, pos)
  local kind = o.kind or "pro"
  if kind ~= "pro" and kind ~= "rapid" then return ctx:fail(usage_error("--kind is pro or rapid")) end
  local params, err = job_params(o, pos, kind)
  if not params then return ctx:fail(err) end
  local client
  client, err = ctx:connect(o, kind, o.kind and ("--kind " .. kind))
  if not client then return ctx:fail(err) end
  local job
  job, err = ctx:drive(function() return client:submit(params, { kind = kind }) end)
  if not job then return ctx:fail(err) end
  ctx:remember { job_id = job.JobId, kind = job.kind, door = client.mode, base_url = client.base_url,
                 prompt = jobs.excerpt(params.Prompt, 80), image = o.image and jobs.excerpt(o.image, 80) or nil,
                 submitted_at = os.time() }
  ctx.job_id, ctx.kind = job.JobId, job.kind
  if ctx.json then
    ctx:submitted(job)
  else
    ctx:out(job.JobId .. "\n")
    if ctx.tty_err and not ctx.quiet then
      ctx:err(("submitted %s job %s: `hy3d wait %s` waits for it, `hy3d download %s` fetches its files\n")
        :format(job.kind, job.JobId, job.JobId, job.JobId))
    end
  end
  return EXIT.ok
end

-- The JobId argument and the kind to use for it (--kind, else the record's, else pro).
local function job_argument(ctx, o, pos)
  if #pos ~= 1 then return nil, usage_error("needs one JOBID") end
  local id = pos[1]
  if id == "" or id:find("[%s%c]") then return nil, usage_error("not a JobId") end
  local rec = ctx:lookup(id)
  local kind = o.kind or (rec and type(rec.kind) == "string" and rec.kind) or "pro"
  local kinds = require("hy3d").kinds
  if not kinds[kind] then
    local names = {}
    for k in pairs(kinds) do names[#names + 1] = k end
    table.sort(names)
    return nil, usage_error("--kind is one of " .. concat(names, ", "))
  end
  ctx.job_id, ctx.kind, ctx.kind_given = id, kind, o.kind ~= nil
  if rec then rec.job_id = id end
  local kind_from = o.kind and ("--kind " .. kind) or ("the job record (a %s job)"):format(kind)
  return id, kind, rec, kind_from
end

local function cmd_status(ctx, o, pos)
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  local client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  ctx.t0 = now()
  local res
  res, err = ctx:drive(function() return client:query(id, { kind = kind }) end)
  if not res then return ctx:fail(err) end
  local status = type(res.Status) == "string" and res.Status:upper() or errors.text(res.Status)
  ctx:remember { job_id = id, kind = kind, status = status }
  local failed = status == "FAIL"
  if ctx.json then
    ctx:emit { event = "status", job_id = id, kind = kind, status = status, elapsed = round3(now() - ctx.t0),
               error_code = failed and errors.text(res.ErrorCode) or nil,
               error_message = failed and errors.text(res.ErrorMessage) or nil,
               files = #result_urls(res) > 0 and result_urls(res) or nil }
  else
    local line = ("job %s (%s): %s"):format(id, kind, status)
    if failed then line = line .. (" (%s: %s)"):format(errors.text(res.ErrorCode), errors.text(res.ErrorMessage)) end
    ctx:out(line .. "\n")
    for _, f in ipairs(result_urls(res)) do ctx:out(("%s\t%s\n"):format(errors.text(f.type), errors.text(f.url))) end
  end
  return failed and EXIT.failed or EXIT.ok
end

-- Waits for a job with the live status line; returns the result or nil, err.
local function wait_for(ctx, client, id, kind, o)
  ctx.t0 = now()
  return ctx:drive(function()
    return client:wait(id, { kind = kind, interval = o.interval, timeout = o.timeout,
                             on_status = guarded(ctx, function(r) ctx:status_changed(r) end) })
  end)
end

local function cmd_wait(ctx, o, pos)
  local ok, err = check_wait_options(o)
  if not ok then return ctx:fail(err) end
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  local client
  client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  local res
  res, err = wait_for(ctx, client, id, kind, o)
  if not res then return ctx:fail(err) end
  if ctx.json then
    ctx:emit { event = "result", job_id = id, kind = kind, status = "DONE", elapsed = round3(now() - ctx.t0),
               files = result_urls(res) }
  else
    for _, f in ipairs(result_urls(res)) do ctx:out(("%s\t%s\n"):format(errors.text(f.type), errors.text(f.url))) end
  end
  return EXIT.ok
end

local function cmd_download(ctx, o, pos)
  local ok, err = check_wait_options(o)
  if not ok then return ctx:fail(err) end
  local save
  save, err = save_options(o)
  if not save then return ctx:fail(err) end
  local id, kind, rec, kind_from = job_argument(ctx, o, pos)
  if not id then return ctx:fail(kind) end
  if rec then                                 -- what generate would have written, unless told otherwise
    if type(rec.dir) == "string" and not (o.dir or o.output) then save.dir = rec.dir end
    if type(rec.name) == "string" and not o.output then save.name = rec.name end
    if type(rec.formats) == "string" and not save.formats then save.formats = split_list(rec.formats) end
    if rec.extract == true and save.extract == nil then save.extract = true end
  end
  ok, err = check_dir(save.dir)
  if not ok then return ctx:fail(err) end
  local client
  client, err = ctx:connect(o, kind, kind_from, rec)
  if not client then return ctx:fail(err) end
  ctx:start_clock(o)
  local res
  res, err = wait_for(ctx, client, id, kind, o)
  if not res then return ctx:fail(err) end
  ctx.phase = "download"
  res.JobId = res.JobId or id
  res.kind = res.kind or kind
  local files
  files, err = ctx:drive(function()
    return client:download_files(res, {
      formats = save.formats, dir = save.dir, name = save.name, extract = save.extract,
      timeout = math.max(ctx.deadline - now(), 0.001),
      on_progress = guarded(ctx, function(done, total, ftype) ctx:progressed(done, total, ftype) end),
    })
  end)
  if not files then return ctx:fail_download(ctx:deadline_error(err)) end
  return finish_download(ctx, files, kind)
end

local function cmd_jobs(ctx, o, pos)
  if #pos > 0 then return ctx:fail(usage_error("takes no arguments")) end
  local ok, err = number_option(o, "limit", "--limit", 0, true)
  if not ok then return ctx:fail(err) end
  local rec = ctx:record()
  if not rec then return ctx:fail(errors.new { kind = "io", code = "NO_RECORD", message = tostring(ctx.rec_error) }) end
  local list, skipped = rec:read()
  if not list then
    return ctx:fail(errors.new { kind = "io", code = "RECORD_UNREADABLE",
      message = ("cannot read %s: %s"):format(rec.path, (errors.text(skipped):gsub("^" .. rec.path:gsub("%p", "%%%0")
        .. ": ", ""))) })
  end
  if skipped > 0 then ctx:warn(("%s: skipped %d unreadable line%s"):format(rec.path, skipped, skipped == 1 and "" or "s")) end
  local first = 1
  if o.limit == 0 then return EXIT.ok end                  -- the last 0 jobs: none
  if o.limit and #list > o.limit then first = #list - o.limit + 1 end
  if ctx.json then
    for i = first, #list do
      local r = list[i]
      local e = { event = "job" }
      for k, v in pairs(r) do e[k] = v end
      if #r.files == 0 then e.files = nil end
      ctx:emit(e)
    end
    return EXIT.ok
  end
  if #list == 0 then
    ctx:note("no jobs recorded in " .. rec.path)
    return EXIT.ok
  end
  local rows = { { "JOBID", "KIND", "SUBMITTED", "STATUS", "PROMPT", "FILES" } }
  for i = first, #list do
    local r = list[i]
    local when = tonumber(r.submitted_at) and os.date("%Y-%m-%d %H:%M", floor(tonumber(r.submitted_at))) or "-"
    local what = r.prompt or (r.image and ("[image] " .. tostring(r.image))) or "-"
    local short = jobs.excerpt(tostring(what), 30)
    if short ~= tostring(what) then short = short .. "..." end
    rows[#rows + 1] = { r.job_id, tostring(r.kind or "-"), when, tostring(r.status or "-"), short,
                        #r.files > 0 and concat(r.files, ", ") or "-" }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for c = 1, 5 do
      if not widths[c] or width(row[c]) > widths[c] then widths[c] = width(row[c]) end
    end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for c = 1, 5 do cells[c] = row[c] .. (" "):rep(widths[c] - width(row[c])) end
    cells[6] = row[6]
    ctx:out(concat(cells, "  ") .. "\n")
  end
  return EXIT.ok
end

local function cmd_sandbox(ctx, args)
  local v = _VERSION:match("(%d+%.%d+)")
  if rawget(_G, "jit") or not v or tonumber(v) < 5.3 then
    ctx:err(("hy3d sandbox: the sandbox needs Lua 5.3 or newer, and this is %s; run `hy3d-sandbox` (it uses "
      .. "lua5.4) or `lua5.4 bin/hy3d-sandbox` in a checkout\n"):format(rawget(_G, "jit") and "LuaJIT" or _VERSION))
    return EXIT.usage
  end
  return require("hy3d.sandbox").main(args)
end

local RUN = {
  generate = cmd_generate, submit = cmd_submit, status = cmd_status, wait = cmd_wait,
  download = cmd_download, jobs = cmd_jobs,
}

-- ===== main =====

local function version_line()
  local ok, hy3d = pcall(require, "hy3d")
  return ("hy3d %s (%s, libcurl %s)\n"):format(ok and hy3d._VERSION or core._VERSION, rawget(_G, "jit") and
    tostring(rawget(_G, "jit").version) or _VERSION, tostring(core.curl_version))
end

local function isatty(fd)
  return core.isatty(fd) == true
end

-- `hy3d help [COMMAND]` (and `hy3d --help [COMMAND]`): words after the command name other than
-- --help or -h are a usage error.
local function help(words, from)
  local topic
  for _, w in ipairs(words) do
    if w ~= "--help" and w ~= "-h" then
      if topic then
        io.stderr:write("hy3d: ", from, " takes one command name at most (see `hy3d --help`)\n")
        return EXIT.usage
      end
      topic = w
    end
  end
  if topic == nil then
    io.stdout:write(USAGE.main)
    return EXIT.ok
  end
  if not USAGE[topic] or topic == "main" then
    io.stderr:write("hy3d ", from, ": no command named ", (topic:gsub("[%c]", "?")), " (see `hy3d --help`)\n")
    return EXIT.usage
  end
  io.stdout:write(USAGE[topic])
  return EXIT.ok
end

local function run(ctx, argv)
  local i, before = 1, {}
  while argv[i] and argv[i]:sub(1, 1) == "-" and argv[i] ~= "-" do      -- options before the command
    local a = argv[i]
    if a == "--help" or a == "-h" then
      local words = {}
      for k = i + 1, #argv do words[#words + 1] = argv[k] end
      return help(words, a)
    elseif a == "--version" then
      if argv[i + 1] ~= nil then
        io.stderr:write("hy3d: --version takes nothing after it (see `hy3d --help`)\n")
        return EXIT.usage
      end
      io.stdout:write(version_line())
      return EXIT.ok
    end
    before[#before + 1] = a
    local name = a:match("^(%-%-[^=]+)=") or a
    if OPTIONS[name] and not OPTIONS[name].flag and not a:find("=", 1, true) then
      i = i + 1
      before[#before + 1] = argv[i]
    end
    i = i + 1
  end
  local cmd = argv[i]
  if cmd == nil then
    io.stderr:write("hy3d: give a command: generate, submit, status, wait, download, jobs, sandbox or help "
      .. "(see `hy3d --help`)\n")
    return EXIT.usage
  end
  local rest = {}
  for k = i + 1, #argv do rest[#rest + 1] = argv[k] end
  if cmd == "help" then return help(rest, "help") end
  if cmd == "sandbox" then
    if #before > 0 then
      io.stderr:write("hy3d sandbox: give its options after the word sandbox (see `hy3d sandbox --help`)\n")
      return EXIT.usage
    end
    return cmd_sandbox(ctx, rest)
  end
  if not RUN[cmd] then
    io.stderr:write("hy3d: unknown command ", (cmd:gsub("[%c]", "?")), " (see `hy3d --help`)\n")
    return EXIT.usage
  end
  ctx.cmd = cmd
  local args = {}
  for _, a in ipairs(before) do args[#args + 1] = a end
  for _, a in ipairs(rest) do args[#args + 1] = a end
  local o, pos = parse(cmd, args)
  if not o then return ctx:fail(pos) end
  if o.help then
    io.stdout:write(USAGE[cmd])
    return EXIT.ok
  end
  if o.json and o.text then return ctx:fail(usage_error("--json and --text exclude each other")) end
  if o.jobs_file == "" then return ctx:fail(usage_error("--jobs-file needs a file name")) end
  local tty = isatty(1)
  ctx.tty_err = isatty(2)
  ctx.json = o.json or (not o.text and not tty)
  if cmd == "submit" or cmd == "jobs" then ctx.json = o.json == true end   -- a bare JobId / a table
  ctx.quiet = o.quiet == true
  ctx.live = not ctx.json and not ctx.quiet and tty and ctx.tty_err
  ctx.jobs_file = o.jobs_file
  return RUN[cmd](ctx, o, pos)
end

--- Runs the hy3d command with the argument list argv (arg from the interpreter: argv[1] is the
-- first argument). `env` (optional): a function(name) or a table standing in for os.getenv for
-- the command's own variables (HY3D_JOBS_FILE, XDG_STATE_HOME, HOME, PWD, HY3D_DOOR); the
-- credentials and service URLs are read from the process environment (by Ctx:connect, which
-- passes them to hy3d.new). Returns the exit code.
function M.main(argv, env)
  argv = argv or {}
  local args = {}
  for k = 1, #argv do args[k] = tostring(argv[k]) end
  local ctx = new_ctx(env)
  local trace
  local ok, code = xpcall(function() return run(ctx, args) end, function(e)
    trace = debug.traceback(tostring(e), 2)
    return e
  end)
  if ok then return code end
  if tostring(code):find("interrupted!", 1, true) then return ctx:interrupted() end
  ctx:err("hy3d: internal error: " .. tostring(trace or code) .. "\n")
  local id = ctx.job_id
  if id and ctx.phase == "download" then
    ctx:err(("hy3d: job %s is DONE: `hy3d download %s` fetches its files\n"):format(id, id))
  elseif id then
    ctx:err(("hy3d: job %s goes on at the service: `hy3d wait %s` waits for it\n"):format(id, id))
  end
  return EXIT.internal
end

M.parse = parse
M.slug = slug
M.save_options = save_options
M.usage = USAGE

return M
