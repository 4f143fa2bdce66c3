-- examples/openresty/hy3d_handler.lua: the request handlers of examples/openresty/nginx.conf: hy3d
-- calls made straight from content_by_lua (after hy3d.use(ngx) they wait with ngx.sleep, so the
-- worker serves other requests meanwhile), spawned tasks run by hy3d.run(), a job started in a timer
-- from log_by_lua, the worker-thread recipe (hy3d_blocking.lua), and a phase that cannot yield.
-- Every answer is one JSON object, but /cannot-yield's.
local hy3d = require "hy3d"
local cjson = require "cjson"

local M = {}

local client                                   -- one per worker, made by the first request

local function getenv(name)
  local v = os.getenv(name)
  if v and v ~= "" then return v end
  return nil
end

local function out_dir()
  return getenv("HY3D_OUT") or (ngx.config.prefix() .. "out")
end

-- The worker's client: HY3D_API_KEY and HY3D_BASE_URL (and the other HY3D_* variables) from the
-- environment nginx.conf lets through with `env`.
local function get_client()
  if client then return client end
  local ok, c = pcall(hy3d.new, { poll_interval = tonumber(getenv("HY3D_POLL_INTERVAL") or "") })
  if not ok then return nil, tostring(c) end
  client = c
  return client
end

local function answer(status, t)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
  return ngx.exit(status)
end

-- An error as the JSON answer carries it (hy3d redacts secrets from its errors).
local function failure(err)
  if type(err) ~= "table" then return { error = tostring(err) } end
  return { error = tostring(err), kind = err.kind, code = err.code, job = err.job_id }
end

local function prompt_arg(name)
  local v = ngx.var["arg_" .. (name or "prompt")]
  if not v or v == "" then return nil end
  return (ngx.unescape_uri(v):gsub("+", " "))
end

-- generate, answered as { job, status, file, bytes, started, finished } or an error.
local function generate(c, prompt)
  ngx.update_time()
  local started = ngx.now()
  local out, err = c:generate({ Prompt = prompt }, { dir = out_dir(), formats = { "GLB" } })
  ngx.update_time()
  if not out then return nil, err end
  local f = out.files[1]
  return { job = out.job.JobId, status = out.result.Status, file = f and f.path, bytes = f and f.bytes,
           started = started, finished = ngx.now() }
end

--- GET /generate?prompt=...: a model, generated while the worker keeps serving.
function M.generate()
  local prompt = prompt_arg()
  if not prompt then return answer(400, { error = "give a prompt: /generate?prompt=a%20chair" }) end
  local c, cerr = get_client()
  if not c then return answer(500, { error = cerr }) end
  local res, err = generate(c, prompt)
  if not res then return answer(502, failure(err)) end
  return answer(200, res)
end

--- GET /tasks?prompt=...: two jobs as hy3d.spawn tasks, driven to the end by hy3d.run(), which
-- waits with ngx.sleep here. (The pump is one per worker: tasks other requests spawned run too.)
function M.tasks()
  local prompt = prompt_arg()
  if not prompt then return answer(400, { error = "give a prompt: /tasks?prompt=a%20chair" }) end
  local c, cerr = get_client()
  if not c then return answer(500, { error = cerr }) end
  local tasks = {}
  for i = 1, 2 do
    tasks[i] = hy3d.spawn(function() return hy3d.assert(generate(c, prompt .. " " .. i)) end)
  end
  local ok, errs = hy3d.run()
  if not ok then return answer(502, failure(errs[1])) end
  local results = {}
  for i, t in ipairs(tasks) do results[i] = (t:result()) end
  return answer(200, { tasks = results })
end

--- GET /blocking?prompt=...: the blocking recipe: generate in a thread of the pool `hy3d`
-- (thread_pool in nginx.conf), which has its own Lua VM where hy3d blocks in curl_multi_poll;
-- the worker's event loop waits for the thread without blocking.
function M.blocking()
  local prompt = prompt_arg()
  if not prompt then return answer(400, { error = "give a prompt: /blocking?prompt=a%20chair" }) end
  local ok, res, err = ngx.run_worker_thread("hy3d", "hy3d_blocking", "generate", prompt, out_dir())
  if not ok then return answer(500, { error = "ngx.run_worker_thread: " .. tostring(res) }) end
  if not res then return answer(502, err) end
  return answer(200, res)
end

--- In log_by_lua (a phase that cannot yield) after GET /later?prompt=...: starts the job in a timer,
-- whose callback may wait (ngx.timer.at(0, fn): what PHASE_CANNOT_YIELD's message advises). The
-- result goes to the shared dict hy3d_results, read by GET /later-result?prompt=...
function M.later()
  local prompt = prompt_arg()
  local c = prompt and get_client()
  if not c then return end
  local ok, terr = ngx.timer.at(0, function(premature)
    if premature then return end
    local res, err = generate(c, prompt)
    ngx.shared.hy3d_results:set(prompt, cjson.encode(res or failure(err)))
  end)
  if not ok then ngx.log(ngx.ERR, "ngx.timer.at: ", terr) end
end

--- GET /later-result?prompt=...: what the timer of /later stored, or 404 while it runs.
function M.later_result()
  local prompt = prompt_arg()
  local stored = prompt and ngx.shared.hy3d_results:get(prompt)
  if not stored then return answer(404, { pending = prompt }) end
  ngx.header["Content-Type"] = "application/json"
  ngx.say(stored)
end

--- In a phase that cannot yield (set_by_lua, header_filter_by_lua, log_by_lua, ...): any hy3d call
-- returns the usage error PHASE_CANNOT_YIELD at once. Returns its code (nginx.conf shows it).
function M.cannot_yield()
  local c, cerr = get_client()
  if not c then return cerr end
  local res, err = c:query("1")
  if res then return "no error" end
  return tostring(err.kind) .. " " .. tostring(err.code)
end

return M
