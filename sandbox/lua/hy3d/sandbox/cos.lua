-- hy3d.sandbox.cos: result files served like Tencent COS pre-signed URLs — the signed file URLs a
-- job's answer carries (and the check of such a URL given back as input), GET/HEAD /files/<JobId>/<name>
-- with its XML errors and expiry, and byte ranges as COS/S3 answer them (a strong ETag, one range per
-- request, If-Range, 416), also used by /_sandbox/blob. Methods of the sandbox object (hy3d.sandbox
-- mixes `methods` in); depends on store (ids, the timeline, which files a job has) and the asset
-- generator (through self.assets).
local cjson = require "cjson"
local store = require "hy3d.sandbox.store"

local format = string.format
local floor = math.floor
local uuid, status_of, file_of = store.uuid, store.status_of, store.file_of

local VERSION = require("hy3d.core")._VERSION   -- hy3d's version: HY3D_VERSION in src/hy3d.h

local Sandbox = {}

-- ===== signed file URLs =====

-- COS-like signed URL of one result file.
function Sandbox:file_url(job, name)
  local start = floor(self:now())
  local stop = start + self.cfg.url_ttl
  return format("%s/files/%s/%s?q-sign-algorithm=sha1&q-ak=AKIDsandbox&q-sign-time=%d%%3B%d"
    .. "&q-key-time=%d%%3B%d&q-header-list=host&q-url-param-list=&q-signature=%s",
    self.base_url, job.id, name, start, stop, start, stop, (uuid():gsub("-", "")))
end

function Sandbox:result_files(job)
  local files, preview = {}, self:file_url(job, "preview.png")
  for _, entry in ipairs(job.results) do
    local f = { Type = entry[1], Url = self:file_url(job, entry[2]) }
    if job.family == "pro" or job.family == "rapid" then f.PreviewImageUrl = preview end
    files[#files + 1] = f
  end
  return files
end

-- A URL given as input (an image or a model): this sandbox's own file URLs must name a live
-- file; other URLs are accepted without fetching (the sandbox never reaches the network).
function Sandbox:check_url(url, field)
  local prefix = self.base_url .. "/files/"
  if url:sub(1, #prefix) ~= prefix then return nil end
  local job_id, name = url:sub(#prefix + 1):match("^(%d+)/([%w%.]+)")
  local job = job_id and self.jobs[job_id]
  local window_end = tonumber(url:match("q%-sign%-time=%d+%%3B(%d+)") or "")
  local now = self:now()
  if not job or not file_of(job, name) or status_of(job, now) ~= "DONE" or not window_end or now > window_end then
    return "FailedOperation.DownloadError", { zh = format("文件下载失败。（%s）", field),
      en = format("The file could not be downloaded (%s).", field) }
  end
  return nil
end

-- ===== byte ranges (like COS/S3: one range per request, If-Range, 416) =====

-- FNV-1a (64-bit) of a short string, as 16 hex digits.
local function fnv64(s)
  local h = 0xcbf29ce484222325
  for i = 1, #s do h = (h ~ s:byte(i)) * 0x100000001b3 end
  return format("%016x", h)
end

-- A strong ETag from what determines the bytes (never from the bytes themselves, which may be
-- hundreds of MB): equal for equal bytes, different when the bytes differ.
local function etag_of(identity, size)
  return format('"%s"', fnv64(format("hy3d-sandbox/%s/%s/%d", VERSION, identity, size)))
end

-- What a Range header asks of a representation of `total` bytes (RFC 9110 §14.1-14.2): nil to
-- ignore it (another unit, or several ranges: answered whole, as RFC 9110 allows), false when it
-- does not parse or cannot be satisfied, else the first and last offsets (0-based, inclusive).
local function byte_range(value, total)
  local unit, set = value:match("^%s*([^=%s]+)%s*=%s*(.-)%s*$")
  if not unit then return false end
  if unit:lower() ~= "bytes" then return nil end
  local specs = {}
  for item in set:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then
      local a, b = item:match("^(%d*)%s*%-%s*(%d*)$")
      if not a or (a == "" and b == "") then return false end
      a, b = tonumber(a), tonumber(b)
      if a and b and b < a then return false end
      specs[#specs + 1] = { a, b }
    end
  end
  if #specs == 0 then return false end
  if #specs > 1 then return nil end
  local first, last = specs[1][1], specs[1][2]
  if not first then                                   -- bytes=-K: the last K bytes
    if last == 0 or total == 0 then return false end
    return math.max(total - last, 0), total - 1
  end
  if first >= total then return false end
  return first, math.min(last or total - 1, total - 1)
end

-- Answers a GET or HEAD of `body` like object storage: a strong ETag and, unless cfg.ranges is
-- false, `Accept-Ranges: bytes` and the Range header honoured: 206 with Content-Range and just
-- those bytes, 416 with `Content-Range: bytes */TOTAL` (the body from `refusal()`), or the whole
-- body when the range is to be ignored or If-Range names another ETag.
function Sandbox:serve_bytes(req, body, headers, etag, refusal)
  headers.ETag = etag
  local whole = { status = 200, headers = headers, body = body }
  if self.cfg.ranges == false then return whole end
  headers["Accept-Ranges"] = "bytes"
  local range, if_range = req.headers.range, req.headers["if-range"]
  if not range or (if_range and if_range ~= etag) then return whole end
  local first, last = byte_range(range, #body)
  if first == nil then return whole end
  if not first then
    local res = refusal()
    res.status = 416
    res.headers["Accept-Ranges"] = "bytes"
    res.headers["Content-Range"] = format("bytes */%d", #body)
    return res
  end
  headers["Content-Range"] = format("bytes %d-%d/%d", first, last, #body)
  return { status = 206, headers = headers, body = body:sub(first + 1, last + 1) }
end

local FILE_TYPES = {
  ["model.glb"] = "model.glb", ["model.zip"] = "model.zip", ["postprocess.zip"] = "model.zip",
  ["model.stl"] = "model.stl", ["model.fbx"] = "model.fbx", ["model.usdz"] = "model.usdz",
  ["model.mp4"] = "model.mp4", ["model.gif"] = "model.gif", ["model.obj"] = "model.obj",
  ["model.mtl"] = "model.mtl", ["preview.png"] = "preview.png", ["texture.png"] = "texture.png",
}

local function cos_error(status, code, message)
  return { status = status, headers = { ["Content-Type"] = "application/xml" }, code = code,
           body = format("<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>%s</Code><Message>%s</Message></Error>\n",
             code, message) }
end

function Sandbox:file_body(job, name)
  if name == "segmentation.json" then
    return cjson.encode { MeshName_part_1 = { face_ids = { 0, 1, 2 }, color = "#FF805C" } }, "application/json"
  end
  return self.assets:file(job.desc, FILE_TYPES[name])
end

-- GET /files/<JobId>/<name>?q-sign-time=...: the result files, like COS pre-signed URLs (byte
-- ranges included). The log entry keeps the Range and If-Range a client sent (range, if_range).
function Sandbox:files(req, job_id, name)
  local entry = self:record(req, { route = "files", auth = req.headers.authorization and "present" or "missing",
                                   range = req.headers.range, if_range = req.headers["if-range"] })
  local res = self:with_faults({ "files" }, "files", function()
    if req.method ~= "GET" and req.method ~= "HEAD" then return cos_error(405, "MethodNotAllowed", "method not allowed") end
    local job, now = self.jobs[job_id], self:now()
    if not job or not file_of(job, name) or status_of(job, now) ~= "DONE" then
      return cos_error(404, "NoSuchKey", "The specified key does not exist.")
    end
    local window_end = tonumber((req.query:match("q%-sign%-time=%d+%%3B(%d+)")))
    if not window_end then return cos_error(403, "AccessDenied", "Request has no valid signature.") end
    if now > window_end then return cos_error(403, "AccessDenied", "Request has expired") end
    local body, ctype = self:file_body(job, name)
    if not body then return cos_error(404, "NoSuchKey", "The specified key does not exist.") end
    local identity = name == "segmentation.json" and name or (job.desc.key .. "|" .. FILE_TYPES[name])
    return self:serve_bytes(req, body, { ["Content-Type"] = ctype }, etag_of(identity, #body), function()
      return cos_error(416, "InvalidRange", "The requested range is not satisfiable")
    end)
  end)
  self:write_log(entry, res)
  return res
end

return { methods = Sandbox, etag_of = etag_of }
