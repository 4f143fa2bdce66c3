--- hy3d errors: every runtime failure is one of these tables, returned as `nil, err`.
-- Fields: kind, code, message, http_status, request_id, job_id, retryable (and, for network
-- errors, curl_code and sent). `tostring(err)` gives one readable line.
local KINDS = {
  network = true,   -- libcurl failure: refused, DNS, TLS, timeout
  http = true,      -- non-2xx status without an API error body
  api = true,       -- the body carries Response.Error
  decode = true,    -- the body is not the JSON the API sends
  job = true,       -- the job ended with Status FAIL
  timeout = true,   -- wait's deadline passed (the job itself goes on)
  invalid = true,   -- caught locally before sending
  callback = true,  -- a user callback (on_status) raised; the job goes on
  io = true,        -- local file trouble
}

local RETRYABLE_HTTP = { [408] = true, [425] = true, [429] = true, [500] = true, [502] = true,
                         [503] = true, [504] = true }

-- API codes that say "try again later" rather than "this request is wrong".
local RETRYABLE_API = { "^RequestLimitExceeded", "^InternalError", "^ServiceUnavailable",
                        "^FailedOperation%.ServerError", "^FailedOperation%.RequestTimeout",
                        "^FailedOperation%.InnerError", "^FailedOperation%.DownloadError" }

local Error = {}
Error.__index = Error
Error.__name = "hy3d.Error"

local function default_retryable(e)
  if e.kind == "network" then return e.code ~= "CANCELLED" end
  if e.kind == "http" then return RETRYABLE_HTTP[e.http_status] == true end
  if e.kind == "timeout" then return true end
  if e.kind == "api" or e.kind == "job" then
    for _, pattern in ipairs(RETRYABLE_API) do
      if tostring(e.code or ""):find(pattern) then return true end
    end
  end
  return false
end

-- Replaces every occurrence of each secret in s (plain text, not patterns).
local function redact(s, secrets)
  if type(s) ~= "string" then return s end
  for _, secret in ipairs(secrets) do
    if #secret > 0 then
      local out, i = {}, 1
      while true do
        local a, b = s:find(secret, i, true)
        if not a then break end
        out[#out + 1] = s:sub(i, a - 1)
        out[#out + 1] = "[redacted]"
        i = b + 1
      end
      if i > 1 then
        out[#out + 1] = s:sub(i)
        s = table.concat(out)
      end
    end
  end
  return s
end

--- Makes an error from a table of fields (kind is required). `secrets`, if given, is a list of
-- strings that must never appear in the error: they are replaced in every string field.
function Error.new(fields, secrets)
  assert(KINDS[fields.kind], "hy3d: unknown error kind " .. tostring(fields.kind))
  local e = setmetatable(fields, Error)
  if secrets then
    for k, v in pairs(e) do
      if type(v) == "string" then e[k] = redact(v, secrets) end
    end
  end
  if e.message == nil then e.message = e.code or e.kind end
  if e.retryable == nil then e.retryable = default_retryable(e) end
  return e
end

--- True when v is an hy3d error.
function Error.is(v)
  return getmetatable(v) == Error
end

function Error:__tostring()
  local head = "hy3d " .. self.kind .. " error"
  if self.code and self.code ~= self.message then head = head .. " " .. tostring(self.code) end
  local details = {}
  if self.http_status then details[#details + 1] = "HTTP " .. tostring(self.http_status) end
  if self.request_id then details[#details + 1] = "request " .. tostring(self.request_id) end
  if self.job_id then details[#details + 1] = "job " .. tostring(self.job_id) end
  local line = head .. ": " .. tostring(self.message)
  if #details > 0 then line = line .. " (" .. table.concat(details, ", ") .. ")" end
  return (line:gsub("[\r\n]+", " "))
end

return {
  new = Error.new,
  is = Error.is,
  redact = redact,
  kinds = KINDS,
  metatable = Error,
}
