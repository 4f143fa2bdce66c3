--- hy3d.download: the Lua side of a download's resume protocol, as Client methods (installed by
-- hy3d.client): download (partial file beside the target, resume with Range/If-Range after network
-- failures, start over on 416 or a changed object, one refresh of an expired URL, rename when
-- complete), download_files (a job's result files: picking, naming, extraction) and generate's
-- download step. The other half of the protocol is C: the write callback in src/hy3d_download.c
-- decides 206 vs 200 at the first byte, writes the sidecar and parses Content-Range. Transfers run
-- on the client's transport (self._transport).
-- Depends on hy3d.core, hy3d.error, hy3d.files, hy3d.options, hy3d.families, hy3d.validate, hy3d.transport.
-- (LDoc merges these methods into hy3d.Client's page.)
-- @classmod hy3d.Client
local core = require "hy3d.core"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local options = require "hy3d.options"
local families = require "hy3d.families"
local validate = require "hy3d.validate"
local transport = require "hy3d.transport"

local now = core.now
local check_options = options.check_options
local DOWNLOAD_OPTIONS, FILES_OPTIONS = options.methods.download, options.methods.download_files
local closing = transport.closing
local id_string, job_id_of, kind_of = validate.job_id, validate.job_id_of, families.of
local PROGRESS_EVERY = 0.1        -- seconds between on_progress calls while bytes arrive

local Client = {}                 -- the methods, copied onto hy3d.Client by hy3d.client

-- The partial files being written in this Lua state, each to the owner record of its download:
-- two downloads must never share one. Weak values, tied to the live transfer: the download's
-- coroutine holds its owner, so when an abandoned one is collected the owner goes too, and its
-- finalizer closes the transfer it left in flight (the engine anchors that one); a closed client's
-- owners no longer count.
local writing = setmetatable({}, { __mode = "v" })

-- A new owner record for a download by client: owner.box.req is its transfer in flight.
local function new_owner(client)
  local box = {}
  local function finalize()
    if box.req then box.req:close() end
  end
  local owner, proxy = { transport = client._transport, box = box }, rawget(_G, "newproxy")
  if proxy then                                   -- Lua 5.1 / LuaJIT: only userdata have __gc
    owner.proxy = proxy(true)
    getmetatable(owner.proxy).__gc = finalize
  else
    setmetatable(owner, { __gc = finalize })
  end
  return owner
end

-- Whether a live download other than `owner` writes the partial file `part`.
local function busy(part, owner)
  local o = writing[part]
  return o ~= nil and o ~= owner and not o.transport.closed
end

-- pcall for a callback that may itself yield (a refresh that queries): Lua 5.1's pcall is a
-- C-call boundary a coroutine cannot yield across, LuaJIT's and 5.2+'s are not. On 5.1 the
-- callback runs unprotected.
local yieldable_pcall = pcall
if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
  yieldable_pcall = function(f, ...) return true, f(...) end
end

-- Runs a started download to completion like Transport:settle, calling prog.fn(done, total) as bytes
-- arrive (at most every PROGRESS_EVERY seconds). Returns req:result(), or nil and a callback error.
function Client:_settle_download(req, prog)
  if not prog.fn then return self._transport:settle(req) end
  local tr = self._transport
  local eng, w, werr = tr.engine, tr:waiter()
  if w == false then
    req:close()
    return nil, tr:error(werr)
  end
  local function report()
    local done, total = req:progress()
    if done == prog.done and total == prog.total then return nil end
    prog.done, prog.total = done, total
    local ok, perr = pcall(prog.fn, done, total)
    if not ok then
      req:close()
      return { kind = "callback", code = "ON_PROGRESS", message = "on_progress raised: " .. tostring(perr) }
    end
  end
  while not eng:wait(req, w and 0 or PROGRESS_EVERY) do
    local perr = report()
    if perr then return nil, perr end
    if w then tr:pause(PROGRESS_EVERY, req, now() + PROGRESS_EVERY, w) end
  end
  local perr = report()
  if perr then return nil, perr end
  return closing(req, req:result())
end

-- Whether a failed download leaves a partial file worth resuming: the transfer broke off.
local function resumable(err)
  return err.kind == "network" or err.kind == "timeout" or err.kind == "callback"
end

-- The download loop behind Client:download: resumes after network failures (up to max_retries),
-- starts over when the server cannot continue the partial file (or sends another version of it),
-- and asks opts.refresh once for a fresh URL when the file host says 403. state.deadline (if any)
-- bounds the whole loop. Returns bytes, or nil and an error table.
function Client:_download(url, path, state, opts)
  local tr, prog = self._transport, { fn = opts.on_progress }
  local policy = tr.retry
  local refreshed, restarted, attempt = false, false, 0
  if opts.resume == false then files.discard_partial(state.part) end
  while true do
    local left = state.deadline and state.deadline - now()
    if left and left <= 0 then
      return nil, { kind = "timeout", code = "TIMEOUT",
        message = ("the download did not finish within its timeout (%g s)"):format(opts.timeout) }
    end
    local req, err = tr.engine:download(url, state.part, {
      timeout = left and math.max(left, 0.001), stall = opts.stall or self.request_timeout, max_bytes = opts.max_bytes,
      min_rate = opts.min_rate, min_avg_rate = opts.min_avg_rate, resume = true, meta = files.partial_meta(state.part),
      allow_http = tr.allow_http })
    if not req then return nil, err end
    state.owner.box.req = req
    local bytes, derr = self:_settle_download(req, prog)
    state.owner.box.req = nil
    if bytes then
      if prog.fn and (prog.done ~= bytes or prog.total ~= bytes) then   -- the last call says "all of it"
        local ok, perr = pcall(prog.fn, bytes, bytes)
        if not ok then
          return nil, { kind = "callback", code = "ON_PROGRESS", message = "on_progress raised: " .. tostring(perr) }
        end
      end
      return bytes
    end
    attempt = attempt + 1
    local status = derr.http_status
    if (status == 416 or derr.code == "RANGE_MISMATCH" or derr.code == "OBJECT_CHANGED") and not restarted then
      local have = files.size(state.part)
      if status == 416 and derr.total and have == derr.total then return have end   -- it was all there
      restarted = true                            -- what the part holds cannot be continued
      files.discard_partial(state.part)
    elseif status == 403 and opts.refresh and not refreshed then
      refreshed = true
      local ok, fresh, rerr = yieldable_pcall(opts.refresh)
      if not ok then
        return nil, { kind = "callback", code = "REFRESH", message = "refresh raised: " .. tostring(fresh) }
      elseif type(fresh) ~= "string" then
        rerr = type(rerr) == "table" and rerr or { kind = "http", code = derr.code, http_status = 403 }
        rerr.message = "the file URL was refused (expired?) and no fresh one was found: " .. tostring(rerr.message or rerr.code)
        return nil, rerr
      end
      local part = files.partial_path(fresh, path)
      if part ~= state.part then                  -- keep what arrived under the new name
        if busy(part, state.owner) then return nil, { kind = "invalid", code = "DOWNLOAD_IN_PROGRESS",
          message = "another download is writing " .. part } end
        files.move_partial(state.part, part)
        if writing[state.part] == state.owner then writing[state.part] = nil end
        writing[part], state.part = state.owner, part
      end
      url = fresh
    elseif derr.kind == "network" and policy:decide(derr, false) and attempt <= policy.max then
      local pause = math.min(policy:backoff(attempt, derr), policy.cap)
      if state.deadline then pause = math.min(pause, math.max(0, state.deadline - now())) end
      tr:sleep_until(now() + pause)
    else
      return nil, errors.hint_plain_http(derr, url)
    end
  end
end

--- Streams url to the file at path. Bytes go to a partial file beside it (see
-- hy3d.partial_path) that is renamed over path only when complete, so path never holds half a
-- file. A broken transfer is resumed with an HTTP Range request (up to max_retries times, and
-- again by a later call with the same URL and path) carrying If-Range with the first answer's
-- ETag or Last-Modified (kept in a sidecar beside the partial file); a server that cannot
-- continue it, or that sends the rest of another version, gets the whole file fetched anew. Never
-- sends the API credentials; an https link redirected to plain http is refused unless the target
-- is loopback or the client has allow_http. opts: timeout (total seconds for the whole call,
-- retries included; default none), stall (seconds of the low-speed window, default the client's
-- timeout), min_rate (bytes/s the transfer must keep over that window, default 4096; 0: only a
-- window without a byte), min_avg_rate (once the size is known the download must end within
-- stall + size / min_avg_rate seconds, default 1024; 0: no such ceiling), max_bytes,
-- on_progress(done_bytes, total_bytes or nil), resume (false: start over), refresh (a function
-- returning a fresh URL, called once when the file host answers 403 — an expired link).
-- Returns path, bytes or nil, err (err.partial names the partial file when it was kept).
-- @tparam string url the file's http(s) URL
-- @tparam string path where to save it
-- @tparam[opt] table opts timeout, stall, min_rate, min_avg_rate, max_bytes, on_progress, resume, refresh
-- @treturn[1] string path
-- @treturn[1] integer bytes
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:download(url, path, opts)
  if type(url) ~= "string" or url == "" then error("hy3d download: url must be a string", 2) end
  if type(path) ~= "string" or path == "" then error("hy3d download: path must be a string", 2) end
  opts = check_options("hy3d download", opts, DOWNLOAD_OPTIONS, 2)
  if url:find("%z") or path:find("%z") then
    return nil, self:_error { kind = "invalid", code = "BAD_PATH",
      message = ("the download %s holds a NUL byte (refused: it would name another file)"):format(
        url:find("%z") and "URL" or "path") }
  end
  if not url:match("^https?://") then
    return nil, self:_error { kind = "invalid", code = "BAD_URL", message = "only http:// and https:// URLs can be downloaded" }
  end
  local state = { part = files.partial_path(url, path), owner = new_owner(self),
                  deadline = opts.timeout and opts.timeout > 0 and now() + opts.timeout or nil }
  if busy(state.part, state.owner) then
    return nil, self:_error { kind = "invalid", code = "DOWNLOAD_IN_PROGRESS",
      message = "another download of this file to " .. path .. " is running" }
  end
  writing[state.part] = state.owner
  local bytes, err = self:_download(url, path, state, opts)
  if writing[state.part] == state.owner then writing[state.part] = nil end
  if not bytes then
    if resumable(err) and (files.size(state.part) or 0) > 0 then
      err.partial = state.part
      err.message = tostring(err.message or err.code) .. " (the partial file is kept: downloading again resumes it)"
    elseif err.code ~= "NOT_REGULAR_FILE" then
      files.discard_partial(state.part)
    end
    return nil, self:_error(err)
  end
  local renamed, rerr = os.rename(state.part, path)
  if not renamed then
    files.discard_partial(state.part)
    return nil, self:_error { kind = "io", code = "RENAME_FAILED", message = tostring(rerr) }
  end
  os.remove(files.partial_meta(state.part))
  return path, bytes
end

-- The result (a DONE query response) of a job given as a result, a job table or a JobId.
function Client:_done_result(job, opts)
  if type(job) == "table" and job.ResultFile3Ds then return job end
  local res, err = self:query(job_id_of(job, "hy3d download_files", 4), { kind = kind_of(job, opts) })
  if not res then return nil, err end
  if res.Status ~= "DONE" then
    return nil, self:_error { kind = "invalid", code = "NOT_DONE", job_id = id_string(res.JobId), status = res.Status,
      message = ("job %s is %s, not DONE: wait for it first"):format(tostring(id_string(res.JobId)), tostring(res.Status)) }
  end
  return res
end

local PREVIEW_EXT = { png = true, jpg = true, jpeg = true, webp = true, gif = true }

-- The preview image of a result: the first file's PreviewImageUrl (the service gives every file
-- of a job the same one), as a file to fetch of type PREVIEW; nil when no file has one.
local function preview_of(list)
  for i, f in ipairs(list) do
    if type(f) == "table" and type(f.PreviewImageUrl) == "string" and f.PreviewImageUrl ~= "" then
      return { type = "PREVIEW", server_type = "PREVIEW", url = f.PreviewImageUrl, index = i, preview = true }
    end
  end
  return nil
end

-- The result files to fetch: every one for {"all"}, else one per format asked (case-insensitive);
-- "preview" is the files' PreviewImageUrl. Each gets `type`, the server's Type made a safe token
-- (upper case; "FILE" when nothing of it is safe), and keeps the Type as the server gave it in
-- `server_type`.
function Client:_pick_files(res, formats)
  local list, picked = type(res.ResultFile3Ds) == "table" and res.ResultFile3Ds or {}, {}
  local want, seen = {}, {}
  for _, f in ipairs(formats) do
    if type(f) ~= "string" then error("hy3d download_files: formats must be a list of strings", 4) end
    want[#want + 1] = f:upper()
  end
  for _, w in ipairs(want) do
    local found = false
    if w == "PREVIEW" and not seen.preview then
      local p = preview_of(list)
      if p then picked[#picked + 1], seen.preview, found = p, true, true end
    end
    for i, f in ipairs(list) do
      if type(f) == "table" and type(f.Url) == "string" and type(f.Type) == "string"
          and (w == "ALL" or f.Type:upper() == w) and not seen[i] then
        seen[i], found = true, true
        picked[#picked + 1] = { type = files.safe_token(f.Type:upper()) or "FILE", server_type = f.Type, url = f.Url,
                                index = i }
      end
    end
    if not found and w ~= "ALL" then
      local have = {}
      for _, f in ipairs(list) do
        have[#have + 1] = type(f) == "table" and files.safe_token(f.Type, 32) or "?"
      end
      return nil, self:_error { kind = "invalid", code = "NO_SUCH_FORMAT", job_id = id_string(res.JobId),
        message = ("job %s has no %s result (it has: %s)"):format(tostring(id_string(res.JobId)),
          w, #have > 0 and table.concat(have, ", ") or "no files") }
    end
  end
  return picked
end

local unused = files.unused

--- Downloads a finished job's result files. `job` is a DONE query result, a job table or a
-- JobId (queried first; opts.kind for a JobId that is not pro). opts: formats (File3D types,
-- default {"GLB"}; {"all"} for every file; "preview" for the image at the files' PreviewImageUrl),
-- dir (default "."), name (file base name, default the JobId), extract (unzip zip results, such as
-- OBJ, into <dir>/<name>_<type>/), on_progress(done, total, type), max_bytes (each file's download,
-- and with extract what each archive unpacks to), timeout, stall. Names from the server never leave
-- dir: the JobId and each Type are reduced to letters, digits, "_" and "-" (files.safe_token). An
-- expired URL (403) is refreshed by querying the job again. Returns a list of {type, path, bytes,
-- url[, dir, entries]} or nil, err.
-- @param job a DONE query result, a job table or a JobId
-- @tparam[opt] table opts formats, dir, name, extract, on_progress, max_bytes, kind, timeout, stall
-- @treturn[1] table the saved files
-- @treturn[2] nil
-- @treturn[2] Error err
function Client:download_files(job, opts)
  opts = check_options("hy3d download_files", opts, FILES_OPTIONS, 2)
  local name = opts.name
  if name and (name:find("[/%c]") or name == "" or name == "." or name == "..") then
    error("hy3d download_files: name must be a plain file name", 2)
  end
  local res, err = self:_done_result(job, opts)
  if not res then return nil, err end
  local job_id = id_string(res.JobId)
  if res.JobId ~= nil and not job_id then
    return nil, self:_error { kind = "decode", code = "BAD_JOB_ID", result = res,
      message = ("the result's JobId is not a JobId (a %s)"):format(type(res.JobId)) }
  end
  local picked
  picked, err = self:_pick_files(res, opts.formats or families.default_formats(kind_of(res, opts)))
  if not picked then return nil, err end
  local dir, base = opts.dir or ".", name or files.safe_token(job_id, 64) or "result"
  local ok, merr = files.mkdirs(dir)
  if not ok then
    merr.job_id = job_id
    return nil, self:_error(merr)
  end
  local out, used = {}, {}
  for _, f in ipairs(picked) do
    local ext = files.extension(f.url, f.type)
    if f.preview and not PREVIEW_EXT[ext] then ext = "png" end      -- a preview is an image, whatever its URL says
    local path = unused(used, dir, base, f.type, "." .. ext)
    local function refresh()                      -- the same file of the job, under a fresh URL
      local fresh, qerr = self:query(job_id, { kind = res.kind or opts.kind })
      if not fresh then return nil, qerr end
      local entry = type(fresh.ResultFile3Ds) == "table" and fresh.ResultFile3Ds[f.index]
      if f.preview and type(entry) == "table" and type(entry.PreviewImageUrl) == "string" then
        return entry.PreviewImageUrl
      elseif type(entry) == "table" and type(entry.Type) == "string" and entry.Type:upper() == f.server_type:upper()
          and type(entry.Url) == "string" then
        return entry.Url
      end
      return nil, { kind = "invalid", code = "NO_SUCH_FORMAT", message = "the job no longer lists this file" }
    end
    local on_progress = opts.on_progress and function(done, total) return opts.on_progress(done, total, f.type) end
    local door, saved, bytes = self._transport.door_impl
    if door.save then                             -- a result that is not a file's URL (the local door)
      saved, bytes = door:save(self, f.url, path, { on_progress = on_progress, max_bytes = opts.max_bytes,
        timeout = opts.timeout, stall = opts.stall })
    else
      saved, bytes = self:download(f.url, path, { on_progress = on_progress, max_bytes = opts.max_bytes,
        timeout = opts.timeout, stall = opts.stall, refresh = job_id and refresh or nil })
    end
    if not saved then
      local derr = bytes
      derr.job_id, derr.files = job_id, out
      return nil, derr
    end
    local rec = { type = f.type, path = path, bytes = bytes, url = f.url }
    if opts.extract and files.is_zip(path) then
      rec.dir = unused(used, dir, base, f.type, "", true)
      local names, zerr = core.unzip(path, rec.dir, { overwrite = true, max_bytes = opts.max_bytes })
      if not names then
        zerr.job_id, zerr.files = job_id, out
        out[#out + 1] = rec
        rec.dir = nil
        return nil, self:_error(zerr)
      end
      rec.entries = names
    end
    out[#out + 1] = rec
  end
  return out
end

return Client
