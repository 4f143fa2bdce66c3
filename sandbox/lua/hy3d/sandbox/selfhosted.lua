-- hy3d.sandbox.selfhosted: the self-hosted Hunyuan3D-2 / 2.1 api_server.py, emulated under /selfhosted/.
--
-- Routes (reference §11), under the prefix PREFIX so they never meet the sandbox's own /health:
--   POST /send        -> {"uid"}; the job runs on the job clock: "processing" for wait_time (+ half of
--                        run_time when textured, on 2.1), "texturing" for the rest of run_time (2.1 and
--                        texture = true), then "completed" with model_base64 (a real GLB from the
--                        sandbox's assets; untextured unless texture) and on 2.1, for a textured job,
--                        model_base64_initial (the untextured model)
--   GET /status/{uid} -> {"status": ...}; an unknown uid stays "processing" (as the real server)
--   POST /generate    -> the GLB bytes of the model at once (synchronous)
--   GET /health       -> 2.1: {"status": "healthy", "worker_id"}; 2: 404 (it has none)
-- Config (POST /_sandbox/config, hy3d-sandbox options): selfhosted = "2.1" | "2" (the flavour: 2.1
-- validates with FastAPI's 422 {"detail": [...]} and requires image; 2 takes any JSON and leaves a job
-- without image or text "processing" forever), selfhosted_busy (the next N /send or /generate answer
-- 404 {"error_code": 1}), selfhosted_stuck (new jobs stay "processing" forever), selfhosted_answer
-- ("ok", or a hostile completed answer: "bad_base64", "missing", "huge", "not_glb", "truncated"; or
-- "bad_uid": /send answers a uid that is no plain token).
-- Requests are logged with route "selfhosted" (action: send, status, generate, health).
local core = require "hy3d.core"
local doors = require "hy3d.sandbox.doors"

local json_response, encode = doors.json_response, doors.encode
local format = string.format

local PREFIX = "/selfhosted"

local M = { PREFIX = PREFIX }
local Sandbox = {}

local function not_found()
  return json_response(404, { detail = "Not Found" })
end

local function busy()
  return json_response(404, { text = "**NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.**",
                              error_code = 1 })
end

-- 2.1's GenerationRequest (reference §11.2): name -> type, low, high.
local FIELDS_21 = {
  image = { "string" }, remove_background = { "boolean" }, texture = { "boolean" },
  seed = { "integer", 0, 2 ^ 32 - 1 }, octree_resolution = { "integer", 64, 512 },
  num_inference_steps = { "integer", 1, 20 }, guidance_scale = { "number", 0.1, 20 },
  num_chunks = { "integer", 1000, 20000 }, face_count = { "integer", 1000, 100000 },
}

-- FastAPI's 422 for 2.1, or nil when the body passes.
local function validate_21(body)
  local detail = {}
  if type(body.image) ~= "string" then
    detail[#detail + 1] = { type = "missing", loc = { "body", "image" }, msg = "Field required" }
  end
  for name, rule in pairs(FIELDS_21) do
    local v = body[name]
    if v ~= nil and name ~= "image" then
      local want = rule[1]
      local ok = (want == "boolean" and type(v) == "boolean") or (want ~= "boolean" and type(v) == "number"
        and (want ~= "integer" or math.type(v) == "integer" or v % 1 == 0))
      if not ok then
        detail[#detail + 1] = { type = want .. "_type", loc = { "body", name }, msg = "Input should be a valid " .. want }
      elseif rule[2] and (v < rule[2] or v > rule[3]) then
        detail[#detail + 1] = { type = "value_error", loc = { "body", name },
          msg = format("Input should be between %s and %s", tostring(rule[2]), tostring(rule[3])) }
      end
    end
  end
  if #detail > 0 then return json_response(422, { detail = detail }) end
  return nil
end

-- The model a request describes (the sandbox's assets): its text or image stands for the shape.
function Sandbox:selfhosted_glb(body, textured)
  local text = type(body.text) == "string" and body.text or (type(body.image) == "string" and body.image:sub(1, 64)) or nil
  local desc = self.assets:describe { text = text, faces = tonumber(body.face_count), geometry = not textured }
  return (self.assets:file(desc, "model.glb"))
end

function Sandbox:selfhosted_state()
  local st = self.selfhosted_jobs
  if not st then
    st = {}
    self.selfhosted_jobs = st
  end
  return st
end

-- The body of a request, or nil and a response (2.1: FastAPI's 422 for what is not a JSON object).
local function body_of(req)
  local ok, body = pcall(core.decode, req.body or "")
  if ok and type(body) == "table" then return body end
  return nil, json_response(422, { detail = { { type = "json_invalid", loc = { "body" }, msg = "JSON decode error" } } })
end

-- A hostile or plain completed answer for a job.
function Sandbox:selfhosted_completed(job)
  local how = self.cfg.selfhosted_answer or "ok"
  local b64 = core.base64_encode
  if how == "missing" then return json_response(200, { status = "completed" }) end
  if how == "bad_base64" then return json_response(200, { status = "completed", model_base64 = ("@!"):rep(5000) }) end
  if how == "not_glb" then
    return json_response(200, { status = "completed", model_base64 = b64(("not a model "):rep(1000)) })
  end
  local final = self:selfhosted_glb(job.body, job.texture)
  if how == "truncated" then
    local text = encode { status = "completed", model_base64 = b64(final) }
    return { status = 200, headers = { ["Content-Type"] = "application/json" }, body = text:sub(1, #text // 2) }
  end
  local answer = { status = "completed", model_base64 = b64(final) }
  if self.cfg.selfhosted == "2.1" and job.texture then
    answer.model_base64_initial = b64(self:selfhosted_glb(job.body, false))
  end
  if how == "huge" then
    local junk = {}
    for i = 1, 100000 do junk[i] = i end
    answer.junk = junk
  end
  return json_response(200, answer)
end

function Sandbox:selfhosted_status(uid)
  local job = self:selfhosted_state()[uid]
  if not job or job.stuck then return json_response(200, { status = "processing" }) end
  local age = self:now() - job.created
  local wait, run = self.cfg.wait_time, self.cfg.run_time
  local staged = self.cfg.selfhosted == "2.1" and job.texture
  if age < wait + (staged and run / 2 or run) then return json_response(200, { status = "processing" }) end
  if age < wait + run then return json_response(200, { status = "texturing" }) end
  return self:selfhosted_completed(job)
end

--- Routes a request under PREFIX (req.path starts with it).
function Sandbox:selfhosted(req)
  local path = req.path:sub(#PREFIX + 1)
  local v21 = self.cfg.selfhosted == "2.1"
  local uid = path:match("^/status/([^/]+)$")
  local what = uid and "status" or path:match("^/(%a+)$")
  self:record(req, { route = "selfhosted", door = "selfhosted", action = what })
  if uid and req.method == "GET" then return self:selfhosted_status(uid) end
  if what == "health" and req.method == "GET" then
    if not v21 then return not_found() end
    return json_response(200, { status = "healthy", worker_id = "sbx001" })
  end
  if (what == "send" or what == "generate") and req.method == "POST" then
    local body, bad = body_of(req)
    if not body then return bad end
    if v21 then
      local invalid = validate_21(body)
      if invalid then return invalid end
    end
    local n = self.cfg.selfhosted_busy or 0
    if n > 0 then
      self.cfg.selfhosted_busy = n - 1
      return busy()
    end
    local texture = body.texture == true
    if what == "generate" then
      if not v21 and body.image == nil and body.text == nil then return busy() end   -- 2 answers any failure so
      return { status = 200, headers = { ["Content-Type"] = "application/octet-stream" },
               body = self:selfhosted_glb(body, texture) }
    end
    self.job_seq = (self.job_seq + 1) % 4096
    local id = format("%08x-%04x-4%03x-a%03x-%012x", math.random(0, 0xffffffff), math.random(0, 0xffff),
      math.random(0, 0xfff), self.job_seq, math.random(0, 0xffffffffffff))
    self:selfhosted_state()[id] = { created = self:now(), body = body, texture = texture,
      stuck = self.cfg.selfhosted_stuck == true or (not v21 and body.image == nil and body.text == nil) }
    if self.cfg.selfhosted_answer == "bad_uid" then return json_response(200, { uid = "../" .. id .. "?x" }) end
    return json_response(200, { uid = id })
  end
  if what == "send" or what == "generate" or what == "health" or uid then
    return json_response(405, { detail = "Method Not Allowed" })
  end
  return not_found()
end

M.methods = Sandbox
return M
