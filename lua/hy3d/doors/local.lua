--- hy3d.doors.local — the self-hosted door (Hunyuan3D-2 / 2.1 api_server.py, no key): fields, answers, model files.
--
-- The door of hy3d.doors for the open-source server on the user's own GPU: the PascalCase fields
-- translated, its answers put in API 3.0's shape, result files decoded from model_base64, busy and
-- 422 answers typed.
--
-- The server (reference §11): POST /send {image, texture, seed, ...} -> {"uid"}; GET /status/{uid}
-- -> {"status": "processing" | "texturing" | "completed", "model_base64": ..., and on 2.1 the
-- untextured model under "model_base64_initial" or "initial_model_base64"}; a full server answers
-- 404 {"error_code": 1}; 2.1 validates with FastAPI (422 {"detail": [...]}) and may answer 500
-- {"status": "error", "message": ...}; GET /health (2.1) -> {"status": "healthy", "worker_id"}.
--
-- Design (hy3d.doors' interface: request/answer/failure for POST /send, and the door's own
-- `exchange` for what is not one JSON request and answer):
-- * A completed /status answer carries whole models in base64, far beyond what an API answer may
--   be (the engine caps those, HY3D_MAX_API_BODY) and never to be held in Lua. So a status poll is
--   a download (engine:download) into a temporary file; core.json_skim reads that file back with
--   every long string replaced by its length, and only that small text is decoded. The file is
--   removed at once: a poll keeps nothing.
-- * The result files are therefore not URLs of files: a DONE result lists them as the status URL
--   with the field as fragment (`<base>/status/<uid>#model_base64`), Type "GLB" (the final model)
--   and "INITIAL_GLB" (the untextured one, when the server gives it). download_files / generate
--   hand such a file to `save`: the status answer is downloaded again beside the target (resumable,
--   max_bytes and timeouts as any download), core.json_b64_field decodes the one field from that
--   file straight into a partial file with libcrypto's streaming EVP_Decode*, the bytes are checked
--   to be a GLB, and only then is it renamed over the target. The answer travels once per file
--   saved (the server keeps it), which on a LAN is cheaper than keeping big temporary files alive.
-- * The server has no error state: a job whose status has not changed for `stuck_timeout` seconds
--   (hy3d.new's option, default STUCK_TIMEOUT) as seen by this client is an error of kind "timeout",
--   code STUCK_JOB, from query and wait alike.
-- * 404 {"error_code": 1} is the server's "busy": an api error RequestLimitExceeded.ServerBusy,
--   which hy3d.retry retries like any rate limit (submits too: the server refused it).
-- * health(transport): GET /health (client:health()); the 2 flavour has none (404 -> nil, err).
-- * sync_generate (hy3d.new's option, for servers without /send): a submit POSTs /generate and its
--   answer, the GLB itself, is downloaded (engine:download with a body) into a temporary file; the
--   job ("sync-..." id) is then DONE at once, known to this client only, and its one file (Url
--   file://<the temporary file>) is moved, never copied through Lua, to the target by `save`. The
--   POST may take minutes: it is bounded by stuck_timeout, not by the request timeout.
-- Depends on hy3d.core only (the client and transport are passed in).
local core = require "hy3d.core"

local STUCK_TIMEOUT = 900          -- seconds a job may keep one status before it is called stuck
local LONG = 4096                  -- a string of the status answer longer than this is a model
local MAX_SKIM = 256 * 1024        -- the status answer, models aside, is at most this
local MAX_ANSWER = 4 * 1024 ^ 3    -- a status answer (models included) is at most this many bytes

-- The fields of the initial (untextured) model, as the two known 2.1 versions name it.
local INITIAL_FIELDS = { "model_base64_initial", "initial_model_base64" }

local M = {
  name = "local",
  credentials = "none",
  url = "http://127.0.0.1:8081",
  envelope = {},                   -- flat answers; errors are read by the door (failure below)
  families = { pro = true },
  STUCK_TIMEOUT = STUCK_TIMEOUT,
}

-- PascalCase fields and the server's names for the plain ones (numbers, strings, booleans).
local PLAIN = {
  ImageBase64 = { "image", "string" }, Prompt = { "text", "string" }, FaceCount = { "face_count", "number" },
  Seed = { "seed", "number" }, OctreeResolution = { "octree_resolution", "number" },
  NumInferenceSteps = { "num_inference_steps", "number" }, GuidanceScale = { "guidance_scale", "number" },
  NumChunks = { "num_chunks", "number" }, RemoveBackground = { "remove_background", "boolean" },
}
-- The server's names back to the PascalCase ones (a 422 names the field the user wrote).
local PASCAL = { texture = "EnablePBR", type = "ResultFormat" }
for k, v in pairs(PLAIN) do PASCAL[v[1]] = k end
-- The fields translated by a rule (texture, type), for the list in messages.
local RULED = { EnablePBR = true, GenerateType = true, ResultFormat = true }

local function field_list()
  local names = {}
  for k in pairs(PLAIN) do names[#names + 1] = k end
  for k in pairs(RULED) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

local function invalid(field, message)
  return nil, { kind = "invalid", code = "FIELD_NOT_ON_DOOR", field = field,
                message = "the local door (a self-hosted Hunyuan3D server) " .. message .. " (nothing was sent)" }
end

--- The /send body for a job's PascalCase params, or nil and an invalid error naming the door and
-- the field it cannot express.
function M.translate(params)
  local body = {}
  for k, v in pairs(params) do
    local plain = PLAIN[k]
    if plain then
      if type(v) ~= plain[2] then
        return invalid(k, ("takes %s as a %s, got a %s"):format(k, plain[2], type(v)))
      end
      body[plain[1]] = v
    elseif not RULED[k] then
      local name = type(k) == "string" and k:gsub("[^%w_]", "?"):sub(1, 64) or type(k)
      local hint = name == "ImageUrl" and "; pass the image itself as ImageBase64 (hy3d.image reads a file)" or ""
      return invalid(name, ("cannot express field '%s'%s; it takes %s"):format(name, hint, field_list()))
    end
  end
  local gt, pbr = params.GenerateType, params.EnablePBR
  if gt ~= nil then
    if gt == "Normal" then body.texture = true
    elseif gt == "Geometry" then body.texture = false
    else return invalid("GenerateType", "makes Normal (textured) or Geometry (untextured) models only, "
      .. "not GenerateType " .. (type(gt) == "string" and gt:gsub("[^%w]", "?"):sub(1, 32) or type(gt))) end
  end
  if pbr ~= nil then
    if type(pbr) ~= "boolean" then return invalid("EnablePBR", "takes EnablePBR as a boolean") end
    if pbr and gt == "Geometry" then
      return invalid("EnablePBR", "cannot texture (EnablePBR) a Geometry model")
    end
    body.texture = pbr
  end
  local rf = params.ResultFormat
  if rf ~= nil then
    if type(rf) ~= "string" or rf:upper() ~= "GLB" then
      return invalid("ResultFormat", "makes GLB models only (its /status reports nothing else)")
    end
    body.type = "glb"
  end
  return body
end

-- The start of a JSON answer kept in an http error's message ("HTTP 404: {...}"), decoded when whole.
local function snippet_of(err)
  local text = type(err.message) == "string" and err.message:match("^HTTP %d+: (.*)$") or nil
  local t = text and core.decode(text)
  return text, type(t) == "table" and t or nil
end

-- A text from the server fit for a message: printable, short.
local function clean(s, n)
  if type(s) ~= "string" then return nil end
  return (s:gsub("[%c]", " "):sub(1, n or 200))
end

-- An engine error of one exchange in the door's terms: busy (404 error_code 1) as a rate limit,
-- FastAPI's 422 as invalid, and for a query (`query` true) 2.1's 500 {"status": "error"} as a
-- failed job (a result, FAIL). Returns the result or nil, error fields.
local function classify(err, query)
  if err.kind ~= "http" then return nil, err end
  local status = err.http_status
  local text, t = snippet_of(err)
  text = text or ""
  if status == 404 and (t and t.error_code == 1 or text:match('"error_code"%s*:%s*1[^%d]')) then
    return nil, { kind = "api", code = "RequestLimitExceeded.ServerBusy", http_status = 404,
      message = "the self-hosted server is busy (404, error_code 1: its --limit-model-concurrency is full)" }
  end
  if status == 422 then
    local first = t and type(t.detail) == "table" and t.detail[1]
    local where = type(first) == "table" and type(first.loc) == "table" and clean(tostring(first.loc[#first.loc]), 64)
    local why = type(first) == "table" and clean(first.msg)
    return nil, { kind = "invalid", code = "INVALID_PARAMETER", http_status = 422, field = PASCAL[where] or where or nil,
      message = "the self-hosted server refused the request (422)" .. (where and (": " .. where) or "")
        .. (why and (": " .. why) or (text ~= "" and (": " .. clean(text)) or "")) }
  end
  if query and status == 500 and (t and t.status == "error" or text:match('"status"%s*:%s*"error"')) then
    return { Status = "FAIL", ErrorCode = "FailedOperation.ServerError",
             ErrorMessage = clean(t and t.message) or "the self-hosted server reports an error", raw = t }
  end
  if status == 404 and not query then
    err.message = tostring(err.message) .. " (no /send here: is base_url a Hunyuan3D api_server.py?)"
  end
  return nil, err
end

-- The transport's view of each job's status: { status, since } by uid (per transport, weak).
local seen = setmetatable({}, { __mode = "k" })
-- The synchronous jobs' models waiting for download_files: temporary file by job id, per transport.
local synced = setmetatable({}, { __mode = "k" })
local sync_seq = 0

local function uid_ok(uid)
  return type(uid) == "string" and #uid > 0 and #uid <= 128 and uid:match("^[%w%-_]+$") ~= nil
end

-- The status answer (a table decoded from the skimmed text) as a query result.
local function status_result(tr, uid, t)
  local st = t.status
  local res = { JobId = uid, raw = t }
  if st == "processing" or st == "texturing" then
    res.Status, res.Stage = "RUN", st
  elseif st == "completed" then
    if t.model_base64 == nil then
      return nil, { kind = "decode", code = "NO_MODEL",
        message = "the server says job " .. uid .. " is completed but its answer has no model_base64" }
    end
    local url = tr.base_url .. "/status/" .. uid
    res.Status, res.Stage = "DONE", st
    res.ResultFile3Ds = { { Type = "GLB", Url = url .. "#model_base64" } }
    for _, f in ipairs(INITIAL_FIELDS) do
      if t[f] ~= nil then
        res.ResultFile3Ds[2] = { Type = "INITIAL_GLB", Url = url .. "#" .. f }
        break
      end
    end
  elseif st == "error" then
    res.Status, res.ErrorCode = "FAIL", "FailedOperation.ServerError"
    res.ErrorMessage = clean(t.message) or "the self-hosted server reports an error"
  else
    return nil, { kind = "decode", code = "BAD_STATUS",
      message = "the server's status answer has no known status (processing, texturing, completed): "
        .. (clean(type(st) == "string" and st or type(st), 40)) }
  end
  return res
end

-- The stuck-job check: nil, or a timeout error when `uid` kept its status longer than allowed.
local function stuck(tr, uid, res)
  local per = seen[tr]
  if not per then per = {}; seen[tr] = per end
  if res.Status ~= "RUN" then
    per[uid] = nil
    return nil
  end
  local t, mark = core.now(), per[uid]
  if not mark or mark.stage ~= res.Stage then
    per[uid] = { stage = res.Stage, since = t }
    return nil
  end
  local limit = (tr.door_options or {}).stuck_timeout or STUCK_TIMEOUT
  if t - mark.since >= limit then
    return { kind = "timeout", code = "STUCK_JOB", job_id = uid, status = "RUN",
      message = ("job %s has stayed %s for %g s (stuck_timeout): the self-hosted server has no error state, so a "
        .. "failed job looks like this; check the server's log%s"):format(uid, tostring(res.Stage), limit,
        res.Stage == "texturing" and " (some 2.1 versions never complete a job without texture: ask for EnablePBR)"
        or "") }
  end
  return nil
end

-- GET /status/{uid} through a temporary file (see the header). Returns the query result or nil, err.
local function poll(tr, uid, timeout)
  timeout = timeout or tr.request_timeout         -- query() gives none: the client's request timeout
  local tmp = os.tmpname()
  local req, err = tr.engine:download(tr.base_url .. "/status/" .. uid, tmp, { timeout = timeout,
    stall = timeout, max_bytes = MAX_ANSWER, min_rate = 0, min_avg_rate = 0, allow_http = true })
  if not req then
    os.remove(tmp)
    return nil, err
  end
  local bytes, derr = tr:settle(req)
  if not bytes then
    os.remove(tmp)
    return classify(derr, true)
  end
  local text, serr = core.json_skim(tmp, LONG, MAX_SKIM)
  os.remove(tmp)
  if not text then return nil, serr end
  local t = core.decode(text)
  if type(t) ~= "table" then
    return nil, { kind = "decode", code = "INVALID_JSON", message = "the status answer is not a JSON object: "
      .. (clean(text, 120) or "") }
  end
  return status_result(tr, uid, t)
end

local function is_glb(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local head = f:read(4)
  f:close()
  return head == "glTF"
end

-- A synchronous job: POST /generate, the model downloaded into a temporary file. Returns the
-- submit answer ({ JobId = "sync-..." }) or nil, err.
local function generate(tr, body)
  local opts = tr.door_options or {}
  local limit = opts.stuck_timeout or STUCK_TIMEOUT
  local tmp = os.tmpname()
  local req, err = tr.engine:download(tr.base_url .. "/generate", tmp, { body = core.encode(body), timeout = limit,
    stall = limit, max_bytes = MAX_ANSWER, min_rate = 0, min_avg_rate = 0, allow_http = true })
  if not req then
    os.remove(tmp)
    return nil, err
  end
  local bytes, derr = tr:settle(req)
  if not bytes or not is_glb(tmp) then
    os.remove(tmp)
    if not bytes then return classify(derr, false) end
    return nil, { kind = "decode", code = "NOT_GLB", message = "the server's /generate answer is not a GLB" }
  end
  sync_seq = sync_seq + 1
  local id = ("sync-%s-%d"):format(core.sha256(tmp .. core.now(), "hex"):sub(1, 12), sync_seq)
  synced[tr] = synced[tr] or {}
  synced[tr][id] = tmp
  return { JobId = id, raw = { bytes = bytes } }
end

--- What a submit sends (hy3d.doors' interface): POST /send with the server's fields, or nil and
-- an invalid error naming the field the door cannot express (nothing is sent). A query is the
-- door's own exchange (a status poll through a file); its request is named here for completeness.
function M.request(_, action, params, submit)
  if submit then
    local body, bad = M.translate(params)
    if not body then return nil, bad end
    return "POST", "/send", body, nil
  end
  return "GET", "/status/" .. tostring(params.JobId or action), nil, nil
end

--- /send's answer (hy3d.doors' interface): { JobId = <uid>, raw = <the answer> }, or nil and a
-- decode error when the uid is no plain token.
function M.answer(_, _, res, submit)
  if not submit then return res end
  if not uid_ok(res.uid) then
    return nil, { kind = "decode", code = "NO_JOB_ID",
      message = "the server's /send answer has no uid (a token of letters, digits, '-' and '_')" }
  end
  return { JobId = res.uid, raw = res }
end

--- A failed /send in hy3d's kinds (hy3d.doors' interface): busy, 422, a missing /send.
function M.failure(_, _, err, submit)
  local _, e = classify(err, not submit)
  return e or err
end

--- The door's own exchange (hy3d.doors' interface): a query is a status poll through a file, a
-- submit with sync_generate POSTs /generate into a file; a plain submit is left to
-- request/answer/failure (returns nothing). Returns the answer in API 3.0's shape or nil, error fields.
function M.exchange(_, tr, action, params, timeout, submit)
  if submit then
    if not (tr.door_options or {}).sync_generate then return end
    local body, bad = M.translate(params)
    if not body then return nil, bad end
    return generate(tr, body)
  end
  if not action:match("^Query") and not action:match("^Describe") then
    return nil, { kind = "invalid", code = "ACTION_NOT_ON_DOOR", message = "the local door has no action " .. action }
  end
  local uid = params.JobId
  if not uid_ok(uid) then
    return nil, { kind = "invalid", code = "BAD_JOB_ID",
      message = "a self-hosted job's id is the server's uid (letters, digits, '-' and '_')" }
  end
  if uid:match("^sync%-") then
    local tmp = synced[tr] and synced[tr][uid]
    if not tmp then
      return nil, { kind = "invalid", code = "UNKNOWN_JOB", job_id = uid,
        message = "job " .. uid .. " was made by /generate (sync_generate) in another client: its model is gone" }
    end
    return { JobId = uid, Status = "DONE", Stage = "completed", ResultFile3Ds = { { Type = "GLB", Url = "file://" .. tmp } } }
  end
  local res, err = poll(tr, uid, timeout)
  if not res then return nil, err end
  local serr = stuck(tr, uid, res)
  if serr then return nil, serr end
  return res
end

--- GET /health: { Status = "healthy", WorkerId, raw } or nil, error fields (the 2 flavour has no
-- /health: HTTP 404).
function M.health(_, tr, timeout)
  local req, err = tr.engine:request("GET", "/health", nil, timeout or tr.request_timeout, false, nil)
  if not req then return nil, err end
  local res, rerr = tr:settle(req)
  if not res then
    if rerr.http_status == 404 then
      rerr.message = "the server has no /health (Hunyuan3D-2's api_server.py has none; 2.1's has)"
    end
    return nil, rerr
  end
  if res.status ~= "healthy" then
    return nil, { kind = "api", code = "UNHEALTHY", message = "the server's /health says: "
      .. (clean(type(res.status) == "string" and res.status or type(res.status), 60)) }
  end
  return { Status = "healthy", WorkerId = clean(res.worker_id, 64), raw = res }
end

-- Renames a complete partial file over `path`: path, bytes; or nil, err with the partial file gone.
local function into_place(client, part, path, bytes)
  local renamed, rerr = os.rename(part, path)
  if not renamed then
    os.remove(part)
    return nil, client:_error { kind = "io", code = "RENAME_FAILED", message = tostring(rerr) }
  end
  return path, bytes
end

-- Moves a synchronous job's model from its temporary file to path (copied in chunks across file
-- systems). Returns path, bytes or nil, err.
local function move(client, id, tmp, path)
  local part = path .. ".decoding"
  local ok = os.rename(tmp, part)
  if not ok then
    local src, dst = io.open(tmp, "rb"), io.open(part, "wb")
    local failed = not src or not dst
    while not failed do
      local chunk = src:read(65536)
      if not chunk then break end
      failed = not dst:write(chunk)
    end
    if src then src:close() end
    if dst then failed = not dst:close() or failed end
    if failed then
      os.remove(part)
      return nil, client:_error { kind = "io", code = "WRITE_ERROR", message = "cannot write " .. part }
    end
    os.remove(tmp)
  end
  synced[client._transport][id] = nil
  local f = io.open(part, "rb")
  local bytes = f and f:seek("end")
  if f then f:close() end
  return into_place(client, part, path, bytes)
end

--- Saves one result file of a DONE job (its Url: the status URL and the field as fragment) at
-- `path` for download_files: downloads the answer beside it, decodes the field into a partial file,
-- checks it is a GLB and renames it over path. Returns path, bytes or nil, err (nothing left at
-- path unless complete). opts: download_files' timeout, stall, max_bytes (of the model), on_progress.
function M.save(_, client, url, path, opts)
  local file = url:match("^file://(.+)$")
  if file then                                    -- a synchronous job's model: only one this client made
    for id, tmp in pairs(synced[client._transport] or {}) do
      if tmp == file then return move(client, id, tmp, path) end
    end
  end
  local src, field = url:match("^(https?://[^#]+)#([%w_]+)$")
  if not src then
    return nil, client:_error { kind = "invalid", code = "BAD_URL",
      message = "not a self-hosted result (the status URL with the model's field as fragment)" }
  end
  local answer, part = path .. ".answer", path .. ".decoding"
  local max = opts.max_bytes and math.floor(opts.max_bytes * 4 / 3 + MAX_SKIM) or nil
  local ok, err = client:download(src, answer, { timeout = opts.timeout, stall = opts.stall, max_bytes = max,
    on_progress = opts.on_progress, min_rate = 0 })
  if not ok then
    os.remove(answer)
    return nil, err
  end
  local bytes, derr = core.json_b64_field(answer, field, part)
  os.remove(answer)
  if bytes and opts.max_bytes and bytes > opts.max_bytes then
    bytes, derr = nil, { kind = "io", code = "MAX_BYTES",
      message = ("the model is larger than max_bytes (%d bytes)"):format(opts.max_bytes) }
  elseif bytes and not is_glb(part) then
    bytes, derr = nil, { kind = "decode", code = "NOT_GLB",
      message = "the decoded " .. field .. " is not a GLB (no glTF header)" }
  end
  if not bytes then
    os.remove(part)
    return nil, client:_error(derr)
  end
  return into_place(client, part, path, bytes)
end

return M
