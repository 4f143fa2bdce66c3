--- hy3d.cli.exit: the hy3d command's exit codes, which one an error gets, and the library's errors
-- put in the command line's words (flags and variables instead of Lua options). Depends on nothing.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local M = {}

--- The exit codes (documented in doc/cli.md, "Exit codes").
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

-- A usage error: a message for stderr (one line) and exit code 2.
function M.usage_error(message)
  return { kind = "usage", message = message }
end

-- The message of a raised error without the "file:line: " Lua prepends.
local function bare(msg)
  msg = tostring(msg)
  return (msg:gsub("^[^\n:]*:%d+: ", ""))
end
M.bare = bare

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
  { "validate = false", "--no-validate" }, { "max_credits", "--max-credits" }, { "allow_http = true", "--allow-http" },
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
M.cli_words = cli_words

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

M.translate = translate

return M
