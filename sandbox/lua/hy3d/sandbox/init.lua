--- hy3d-sandbox: an offline emulator of Tencent's Hunyuan 3D service for development, demos and
-- tests. Its doors share one job store: the OpenAI-compatible gateway (`/v1/ai3d/submit`,
-- `/v1/ai3d/query`, API key), Tencent Cloud API 3.0 (`POST /`, `X-TC-Action`, TC3-HMAC-SHA256)
-- with all 19 ai3d actions, and its international site (service hunyuan: hy3d.sandbox.intl),
-- TokenHub (/v1/api/3d/submit|query, hy3d.sandbox.tokenhub) and MPS (`POST /` signed for service
-- mps, hy3d.sandbox.mps). Jobs go WAIT -> RUN -> DONE (or FAIL) on configurable timings; result
-- files are generated and served by the sandbox behind COS-like signed URLs; faults, limits and
-- expiry are configurable; `/_sandbox/` has the control and inspection endpoints, among them a job
-- clock that tests freeze and advance. The API 3.0 door answers in the language of X-TC-Language
-- like the service: English for en-US, else Chinese (the gateway: Chinese).
--
-- This module is the server: new(cfg) (options in DEFAULTS), the routing table handle(req), and
-- listen/step/run/close; the parts are store (jobs, clock, slots), doors (gateway and API 3.0,
-- envelopes), tokenhub and mps (those doors), cos (signed file URLs, byte ranges), control
-- (/_sandbox/, request log), main (the command line), actions (the 19 actions' parameters),
-- families (job families configured at run time), faults, http (the HTTP/1.1 server), tc3 and
-- assets (the result files); selfhosted emulates the self-hosted Hunyuan3D-2 / 2.1 server (the
-- local door) under /selfhosted/.
local http = require "hy3d.sandbox.http"
local assets = require "hy3d.sandbox.assets"
local faults = require "hy3d.sandbox.faults"
local store = require "hy3d.sandbox.store"
local doors = require "hy3d.sandbox.doors"
local cos = require "hy3d.sandbox.cos"
local control = require "hy3d.sandbox.control"
local selfhosted = require "hy3d.sandbox.selfhosted"
local tokenhub = require "hy3d.sandbox.tokenhub"
local families = require "hy3d.sandbox.families"
local mps = require "hy3d.sandbox.mps"

local format = string.format
local json_response, openai_error = doors.json_response, doors.openai_error

local VERSION = require("hy3d.core")._VERSION   -- hy3d's version: HY3D_VERSION in src/hy3d.h

-- The default API 3.0 credentials (fake, like the default API key).
local SANDBOX_SECRET_ID = "AKIDhy3dSandboxSecretId0000000000"
local SANDBOX_SECRET_KEY = "hy3dSandboxSecretKey000000000000"
-- The default international-site credentials (service hunyuan; hy3d.sandbox.intl).
local SANDBOX_INTL_SECRET_ID = "AKIDhy3dSandboxIntlSecretId000000"
local SANDBOX_INTL_SECRET_KEY = "hy3dSandboxIntlSecretKey00000000"

local DEFAULTS = {
  host = "127.0.0.1",
  port = 0,
  keys = { "sk-hy3d-sandbox" },                 -- gateway API keys
  secrets = { [SANDBOX_SECRET_ID] = SANDBOX_SECRET_KEY },   -- API 3.0 SecretId -> SecretKey
  regions = { "ap-guangzhou" },                 -- X-TC-Region values accepted ("*" accepts any)
  intl_secrets = { [SANDBOX_INTL_SECRET_ID] = SANDBOX_INTL_SECRET_KEY },   -- the international site's accounts
  intl_regions = { "ap-singapore", "na-siliconvalley" },                  -- X-TC-Region values of the intl site
  intl_on_mainland_code = "AuthFailure.SignatureFailure",   -- mainland's answer to an intl SecretId (blender-mcp#340 [R])
  mainland_on_intl_code = "AuthFailure.SecretIdNotFound",   -- intl's answer to a mainland SecretId [?]
  wait_time = 1,            -- seconds a job stays WAIT
  run_time = 3,             -- seconds a job stays RUN
  envelope = "wrapped",     -- gateway bodies: "wrapped" {"Response": {...}} or "flat" (reference §2.4 [R])
  concurrency = { pro = 3, default = 1 },       -- jobs in WAIT/RUN per family; 0 = unlimited
  slot_cooldown = 0,        -- seconds a finished job still holds its slot (reported for AutoRigging [R])
  rate_limit = 20,          -- requests per second per action; 0 = unlimited
  url_ttl = 86399,          -- seconds a result URL stays valid (COS q-sign-time window)
  job_ttl = 86400,          -- seconds a JobId stays queryable
  expired_code = "FailedOperation.JobNotFound",   -- answer for unknown or expired JobIds (reference §6 [I])
  result_format = "add",    -- Pro ResultFormat adds a file to OBJ+GLB ("add") or replaces them ("replace")
  gateway_credits = false,  -- gateway queries carry ResultCreditConsumed/Details (one report says not [R])
  all_credits = false,      -- every kind's DONE answer (and Convert3DFormat's) carries them, not Pro's only
  -- TokenHub: its keys (false: the gateway's); errors at 4xx/5xx; Express's Prompt limit
  tokenhub = { keys = false, http_status = true, express_prompt_chars = 1024 },
  ranges = true,            -- file URLs and /_sandbox/blob honour Range (false: always 200, no Accept-Ranges)
  max_skew = 300,           -- seconds of clock skew before AuthFailure.SignatureExpire
  clock_offset = 0,         -- seconds the server's wall clock is ahead of this machine's (negative: behind):
                            -- its Date header and the TC3 timestamp check (hy3d doctor reports the skew)
  max_body = 10 * 1024 * 1024,   -- request bodies above this get RequestSizeLimitExceeded
  max_faces = 100000,       -- cap on generated triangles (FaceCount is honoured up to this)
  seed = nil,               -- seeds JobIds, RequestIds and probabilistic faults
  faults = nil,             -- fault rules to start with (see hy3d.sandbox.faults)
  families = nil,           -- job families beyond the catalogue: { { name, submit, query, results }, ... }
  log = false,              -- request log: false, a file name, or "-" for stderr (JSON lines)
  lifetime = nil,           -- exit after this many seconds (a safety net for scripts)
  max_connections = 900,    -- open connections (select's FD_SETSIZE is 1024); past it, an incomplete head or
                            -- the longest-idle one is closed
  header_timeout = 10,      -- seconds a connection has to send a complete request head (then 408 and closed)
  selfhosted = "2.1",       -- /selfhosted/: the self-hosted server's flavour, "2.1" or "2" (hy3d.sandbox.selfhosted)
  selfhosted_busy = 0,      -- /selfhosted/: the next N /send or /generate answer 404 {"error_code": 1}
  selfhosted_stuck = false, -- /selfhosted/: new jobs stay "processing" forever
  selfhosted_answer = "ok", -- /selfhosted/: a hostile answer: bad_base64, missing, huge, not_glb, truncated, bad_uid
  mps = mps.defaults,       -- the MPS door's open questions (hy3d.sandbox.mps): statuses, GenerateType values, ...
}

-- The sandbox object: this module's methods and those of its parts, each name owned by one part.
local Sandbox = {}
Sandbox.__index = Sandbox
for _, part in ipairs { store, doors, cos, control, tokenhub, families, selfhosted, mps } do
  for name, method in pairs(part.methods) do
    assert(Sandbox[name] == nil, name)
    Sandbox[name] = method
  end
end

local route

-- Every answer carries a Date header (RFC 9110 IMF-fixdate) from the server's clock: this
-- machine's moved by the clock_offset option, as a server whose clock is off would send it.
function Sandbox:handle(req)
  local res = route(self, req)
  if type(res) == "table" and res.status and type(res.headers) == "table" and not res.headers.Date then
    res.headers.Date = os.date("!%a, %d %b %Y %H:%M:%S GMT", self:wall_clock())
  end
  return res
end

--- The server's wall clock (UNIX seconds): os.time() moved by the clock_offset option.
function Sandbox:wall_clock()
  return os.time() + math.floor(tonumber(self.cfg.clock_offset) or 0)
end

route = function(self, req)
  local path = req.path
  if path == "/" and mps.owns(req) then return self:mps(req) end
  if path == "/" and req.headers["x-tc-action"] then return self:api3(req) end
  if path == "/v1/ai3d/submit" then return self:gateway(req, "submit") end
  if path == "/v1/ai3d/query" then return self:gateway(req, "query") end
  local th = path:match("^/v1/api/3d/(%a+)$")
  if th == "submit" or th == "query" then return self:tokenhub(req, th) end
  local job_id, name = path:match("^/files/(%d+)/([%w%.]+)$")
  if job_id then return self:files(req, job_id, name) end
  local what = path:match("^/_sandbox/(%a+)$")
  if what then return self:control(req, what) end
  if path:sub(1, #selfhosted.PREFIX + 1) == selfhosted.PREFIX .. "/" then return self:selfhosted(req) end
  if path == "/" and req.method == "POST" then return self:api3(req) end
  if path == "/" or path == "/health" then
    return json_response(200, { service = "hy3d-sandbox", version = VERSION })
  end
  return openai_error(404, "Not found: " .. path, "not_found")
end

--- Creates a sandbox from a config table (see DEFAULTS); call :listen() then :run().
local function new(cfg)
  local c = {}
  for k, v in pairs(DEFAULTS) do c[k] = v end
  for k, v in pairs(cfg or {}) do
    if DEFAULTS[k] == nil and k ~= "lifetime" and k ~= "seed" and k ~= "faults" and k ~= "families" then
      error("hy3d-sandbox: unknown option " .. tostring(k), 2)
    end
    c[k] = v
  end
  if type(c.max_connections) ~= "number" or c.max_connections < 1 then
    error("hy3d-sandbox: max_connections must be a number >= 1", 2)
  end
  local ht = c.header_timeout
  if type(ht) ~= "number" or ht <= 0 or ht ~= ht then
    error("hy3d-sandbox: header_timeout must be a number of seconds > 0", 2)
  end
  if c.seed then math.randomseed(c.seed) end
  local self = setmetatable({
    cfg = c, jobs = {}, order = {}, order_head = 1, active = {}, prune_at = {}, requests = {}, rate = {}, job_seq = 0,
    clock = { offset = 0 },
    stats = { jobs_created = 0, credits_consumed = 0, rate_limited = 0, requests = {} },
    assets = assets.new { max_faces = c.max_faces }, faults = faults.new(c.seed),
  }, Sandbox)
  for _, rule in ipairs(c.faults or {}) do
    local ok, err = self.faults:add(rule)
    if not ok then error("hy3d-sandbox: " .. err, 2) end
  end
  c.families, c.extra_families = nil, nil
  for _, f in ipairs(cfg and cfg.families or {}) do
    local ok, err = self:add_family(f)
    if not ok then error("hy3d-sandbox: " .. err, 2) end
  end
  if c.log == "-" then
    self.log_file = io.stderr
  elseif type(c.log) == "string" then
    self.log_file = assert(io.open(c.log, "a"))
  end
  self.server = http.new(function(req) return self:handle(req) end, { max_connections = c.max_connections,
                                                                        header_timeout = c.header_timeout })
  return self
end

function Sandbox:listen()
  local ip, port = self.server:listen(self.cfg.host, self.cfg.port)
  if not ip then return nil, port end
  self.port = port
  self.base_url = format("http://%s:%d", ip, port)
  return self.base_url
end

function Sandbox:step(timeout)
  return self.server:step(timeout)
end

function Sandbox:run()
  return self.server:run(self.cfg.lifetime)
end

--- Stops listening and closes every connection (for a sandbox driven with step()).
function Sandbox:close()
  self.server:close()
  if self.log_file and self.log_file ~= io.stderr then self.log_file:close() end
  self.log_file = nil
end

-- The command line (hy3d.sandbox.main) requires this module, so these two load it when called:
-- the one call in the sandbox that runs back up, kept for `require("hy3d.sandbox").main`.
local function main(argv) return require("hy3d.sandbox.main").main(argv) end
local function parse_args(argv, getenv) return require("hy3d.sandbox.main").parse_args(argv, getenv) end

return {
  new = new,
  main = main,
  parse_args = parse_args,
  defaults = DEFAULTS,
  secret_id = SANDBOX_SECRET_ID,
  secret_key = SANDBOX_SECRET_KEY,
  intl_secret_id = SANDBOX_INTL_SECRET_ID,
  intl_secret_key = SANDBOX_INTL_SECRET_KEY,
  api_version = doors.API_VERSION,
  _VERSION = VERSION,
}
