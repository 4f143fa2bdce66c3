--- hy3d: generate 3D models with Tencent Hunyuan 3D from Lua.
--
--     local hy3d = require "hy3d"
--     local client = hy3d.new{ api_key = os.getenv("HY3D_API_KEY") }
--     local job = hy3d.assert(client:submit{ Prompt = "a small wooden chair" })
--     local result = hy3d.assert(client:wait(job))
--
-- Runtime failures return `nil, err` (see hy3d.error); wrong argument types and unknown options
-- raise. Inside a spawned task (hy3d.spawn) every call yields instead of blocking.
-- The tags below are LDoc's (`make doc`); types/ holds the same API for LuaLS and Teal.
-- @module hy3d
local core = require "hy3d.core"
local batch = require "hy3d.batch"
local client = require "hy3d.client"
local credits = require "hy3d.credits"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local image = require "hy3d.image"
local inspection = require "hy3d.inspect"
local loop = require "hy3d.loop"
local scheduler = require "hy3d.scheduler"

local VERSION = "0.4.0"   -- must equal HY3D_VERSION in src/hy3d.h (spec/tooling/version_spec.lua)

if core._VERSION ~= VERSION then
  error(("hy3d: the C core is version %s but the Lua layer is %s; rebuild or reinstall hy3d")
    :format(tostring(core._VERSION), VERSION))
end

local default_client

-- The defaults of hy3d.new's options (client.defaults also holds wait's timeout, an option of
-- wait and generate, not of hy3d.new: every key here is one hy3d.new accepts).
local defaults = {}
for k, v in pairs(client.defaults) do
  if k ~= "wait_timeout" then defaults[k] = v end
end

-- The client behind the module-level functions, made from the environment on first use.
local function default()
  if not default_client then default_client = client.new() end
  return default_client
end

--- The module's values.
-- @tfield string _VERSION the version, such as "0.4.0"
-- @tfield table defaults the defaults of hy3d.new's options
-- @field null JSON null (lua-cjson's), as decoded answers hold it
-- @tfield table kinds the job families by name (kinds.register, kinds.list, kinds.get)
-- @tfield table Error the error module (hy3d.Error)
-- @tfield table credits the billing module (hy3d.credits): its `table` of prices, changed in place to
-- change an estimate; of(result) reads the credits a DONE answer reports
-- @tfield number update_budget the default resume budget of hy3d.update and client:update, in seconds
-- @table hy3d
local M = {
  _VERSION = VERSION,
  defaults = defaults,
  null = core.decode("null"),
  new = client.new,
  kinds = client.kinds,
  Error = errors,
  credits = credits,
  estimate = credits.estimate,
  image = image.image,
  views = image.views,
  inspect = inspection.inspect,
  partial_path = files.partial_path,
}

--- Creates a client (hy3d.Client, in hy3d.client). An api_key selects the gateway, a
-- secret_id/secret_key pair API 3.0, `door` names one; every option is in doc/api.md.
-- Unknown options and wrong types raise.
-- @tparam[opt] table opts the options (api_key, base_url, secret_id, secret_key, door, site, timeout, ...)
-- @treturn Client the client
-- @function new

--- What a job would cost in credits, by the billing table (hy3d.credits.table, from the reference's
-- §9 [R]): the total and the details in the shape of the service's ResultCreditDetails, such as
-- { FaceCount = 10, ["GenerateType-Normal"] = 20, Pbr = 10 }. Sends nothing. An unknown kind, or a
-- value the table has no price for, is nil and an invalid error (UNKNOWN_KIND, NO_PRICE).
-- @tparam table params the API fields, as for submit (a prompt string means { Prompt = s })
-- @tparam[opt] table opts kind (default "pro"), door (default "api3"; "local" costs 0), table
-- @treturn[1] number the total in credits
-- @treturn[1] table the details: key -> credits
-- @treturn[2] nil
-- @treturn[2] Error err (kind "invalid")
-- @function estimate

--- Reads a local PNG, JPEG or WebP for ImageBase64, checked against the service's limits
-- (hy3d.image).
-- @tparam string path the image file
-- @tparam[opt] table opts limits to override: formats, min_side, max_side, max_bytes
-- @treturn[1] string the base64 text
-- @treturn[1] table info: format, width, height, bytes, path
-- @treturn[2] nil
-- @treturn[2] Error err (kind "invalid")
-- @function image

--- Builds MultiViewImages from a table of view type -> image path or http(s) URL (hy3d.image).
-- @tparam table map such as { left = "l.png", back = "b.jpg" }
-- @tparam[opt] table opts limits, as in hy3d.image (max_bytes is the total)
-- @treturn[1] table the MultiViewImages list
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function views

--- What a model file holds: GLB, OBJ or its zip, STL or FBX (hy3d.inspect; the parsing is assimp's,
-- through the optional module hy3d.mesh).
-- @tparam string path the model file
-- @tparam[opt] table opts max_bytes: the most the model and the files it names may hold together
-- @treturn[1] table format, bytes, vertices, triangles, bbox, materials, images, takes (doc/api.md)
-- @treturn[2] nil
-- @treturn[2] Error err (kind "invalid" or "io")
-- @function inspect

--- The partial file a download of url to path writes (path plus a hash of the URL).
-- @tparam string url the file's URL
-- @tparam string path where it is saved
-- @treturn string the partial file's path
-- @function partial_path

--- Writes DIR/index.html, an offline page of the models a job record saved in dir: previews,
-- prompts, credits, links and a 3D view of each GLB (hy3d.gallery; doc/cli.md, "Gallery").
-- @tparam string dir the folder of the models
-- @tparam[opt] table opts jobs, jobs_file, viewer, title, cwd, inspect
-- @treturn[1] table { path, models, glbs, viewer, no_preview }
-- @treturn[2] nil
-- @treturn[2] Error err
function M.gallery(dir, opts)
  return require("hy3d.gallery").write(dir, opts)
end

-- PUC Lua 5.1's assert, and its standalone interpreter, accept only a string as the message.
local STRING_ERRORS_ONLY = _VERSION == "Lua 5.1" and not rawget(_G, "jit")

--- `assert` for hy3d's `v | nil, err` returns, the same on every Lua: returns all its arguments
-- when v is truthy, else raises err at the caller's level. The error table itself is raised
-- (pcall gets err.kind, err.code, ...; the interpreter prints tostring(err)), except on PUC
-- Lua 5.1, whose interpreter cannot print a table: there the message is tostring(err).
-- A plain string (or nil) message behaves as with assert.
-- @param v a value, or nil (or false) on failure
-- @param[opt] err the error (an hy3d error table, a string or nil)
-- @param ... more values, returned as they are
-- @return v, err, ... when v is truthy (else it raises)
function M.assert(v, err, ...)
  if v then return v, err, ... end
  if err == nil then error("assertion failed!", 2) end
  if type(err) == "table" and STRING_ERRORS_ONLY then err = tostring(err) end
  error(err, type(err) == "string" and 2 or 1)
end

--- Pauses the calling task for `seconds` without blocking anything else (inside hy3d.spawn);
-- outside a task it sleeps: through the sleep of the adapter hy3d.use installed where it has one
-- (OpenResty: ngx.sleep), else in the kernel. Where that adapter refuses to wait (a phase that
-- cannot yield, LÖVE's frame): nil and its error, at once.
-- @tparam number seconds how long, >= 0
-- @treturn[1] boolean true once slept
-- @treturn[2] nil
-- @treturn[2] Error err where the adapter refuses to wait (kind "usage")
function M.sleep(seconds)
  if type(seconds) ~= "number" or seconds ~= seconds or seconds < 0 then
    error("hy3d.sleep: expects a number of seconds >= 0", 2)
  end
  if scheduler.current() then
    coroutine.yield(scheduler.TOKEN, nil, scheduler.now() + seconds)
    return true
  end
  local a = scheduler.adapter
  if a and a.sleep then
    local t = core.now() + seconds
    repeat
      local slept, err = a.sleep(t - core.now())
      if slept == false then return nil, err end
      if slept == nil then break end               -- the adapter does not apply here: the kernel's sleep
    until core.now() >= t
    local left = t - core.now()
    if left > 0 then core.sleep(left) end
    return true
  end
  core.sleep(seconds)
  return true
end

--- Runs fn(...) in a coroutine that the pump (hy3d.update, hy3d.step, hy3d.run or any
-- client:update) drives; inside it submit, wait, download and call never block. Returns a task
-- (task:status(), task:result(), task.error).
-- @tparam function fn the task's body
-- @param ... its arguments
-- @treturn Task the task
function M.spawn(fn, ...)
  return scheduler.spawn(fn, ...)
end

--- Non-blocking pump: drives every client's transfers and resumes due tasks. Call it once per
-- frame. `budget` (seconds, default hy3d.update_budget, 0.00025) bounds the time spent resuming tasks in one call;
-- what is left waits for the next call. Returns the number of live tasks.
-- @tparam[opt] number budget seconds spent resuming tasks at most
-- @treturn integer the number of live tasks
-- @function update
M.update = scheduler.pump

-- hy3d.update_budget: the default resume budget of hy3d.update and client:update, in seconds
-- (0.00025). It lives in the scheduler (client:update reads it there); reading or setting it here
-- reads or sets that one.
setmetatable(M, {
  __index = function(_, k) if k == "update_budget" then return scheduler.update_budget end end,
  __newindex = function(t, k, v)
    if k == "update_budget" then scheduler.update_budget = v else rawset(t, k, v) end
  end,
})

--- The pump, allowed to wait up to `timeout` seconds for work first (never spinning).
-- @tparam[opt] number timeout seconds it may wait for work
-- @treturn integer the number of live tasks
-- @function step
M.step = scheduler.pump_step

--- Seconds until the pump next has work (0: now; nil: nothing pending): a timeout for a host
-- loop that waits on its own sockets between hy3d.update calls.
-- @treturn ?number seconds, or nil when nothing is pending
function M.timeout()
  return scheduler.timeout()
end

--- Drives every spawned task to the end: true, or false and the errors of the tasks that failed.
-- @treturn boolean true when every task ended without an error
-- @treturn ?table the errors of the tasks that failed (what each raised)
function M.run()
  return scheduler.run()
end

--- Hands hy3d to a host's event loop: cqueues (inside a cqueues coroutine, hy3d waits with
-- cqueues.poll on the client's pollfd), luv (watchers on each client's pollfd and a timer drive
-- the pump; spawn jobs with hy3d.spawn and run uv.run()), copas (inside a copas thread,
-- hy3d yields with copas.sleep), OpenResty's ngx (ngx.sleep where the phase may yield, else the
-- usage error PHASE_CANNOT_YIELD; hy3d.use(ngx, { max_wait = s })), LÖVE's love (in its main loop,
-- a call outside a task returns WOULD_BLOCK_FRAME) or Tarantool's fiber (a call in a fiber waits
-- with socket.iowait; TARANTOOL_IN_TRANSACTION inside a box transaction). Returns the adapter's
-- name (hy3d.loop).
-- @tparam ?table lib the host's module (cqueues, luv, copas, ngx, love, fiber); nil removes the adapter
-- @tparam[opt] table opts the adapter's options (ngx: { max_wait = seconds })
-- @treturn ?string the adapter's name
-- @function use
M.use = loop.use

-- The module-level shortcuts: each runs the Client method of its name on the default client.
--   submit (Client:submit), query (a job once), call (an API 3.0 action by name), convert (a model
--   file's format), wait (until DONE or FAIL), download (a result file to disk; needs no API key),
--   download_files (a finished job's result files), generate (submit, wait and download in one call).

--- Client:submit on the default client (made from the environment on first use).
-- @tparam table params the API fields
-- @tparam[opt] table opts kind
-- @treturn[1] table the job (JobId, RequestId, kind)
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function submit

--- Client:query on the default client.
-- @param job a job table or a JobId
-- @tparam[opt] table opts kind
-- @treturn[1] table the result (Status, ResultFile3Ds, ...)
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function query

--- Client:call on the default client.
-- @tparam string action an API 3.0 action name
-- @tparam[opt] table params its parameters
-- @treturn[1] table the response
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function call

--- Client:convert on the default client.
-- @tparam table params File3D and Format
-- @treturn[1] table the response, with ResultFile3D
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function convert

--- Client:wait on the default client.
-- @param job a job table or a JobId
-- @tparam[opt] table opts interval, timeout, on_status, kind
-- @treturn[1] table the DONE result
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function wait

--- Client:download on the default client (needs no credentials).
-- @tparam string url the file's URL
-- @tparam string path where to save it
-- @tparam[opt] table opts timeout, stall, max_bytes, on_progress, resume, refresh, min_rate, min_avg_rate
-- @treturn[1] string path
-- @treturn[1] integer bytes
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function download

--- Client:download_files on the default client.
-- @param job a DONE result, a job table or a JobId
-- @tparam[opt] table opts formats, dir, name, extract, on_progress, max_bytes, kind, timeout, stall
-- @treturn[1] table the list of saved files {type, path, bytes, url[, dir, entries]}
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function download_files

--- Client:generate on the default client.
-- @param params a prompt string or a table of API fields
-- @tparam[opt] table opts kind, formats, dir, name, extract, on_submit, on_status, on_progress, interval,
-- timeout, max_bytes, download_timeout
-- @treturn[1] table { job, result, files }
-- @treturn[2] nil
-- @treturn[2] Error err
-- @function generate
for _, name in ipairs { "submit", "query", "call", "convert", "wait", "download", "download_files", "generate" } do
  M[name] = function(...)
    local c = default()
    return c[name](c, ...)
  end
end

--- Runs many jobs (hy3d.batch): `list` holds prompt strings or { name =, params = } tables (params: API fields
-- or a prompt); each job's files go to <dir>/<name>/, each JobId to the journal (<dir>/.hy3d-batch.jsonl, 0600)
-- before it is waited for; a second call with the same list waits for the jobs the journal holds and skips
-- those whose files are whole, so nothing is submitted twice. Every entry is checked before anything is sent.
-- opts: client (default: the default client), dir, kind, formats, journal (a path, or false), concurrency,
-- interval, timeout, extract, on_event(event), after(item, result, files), before_submit(item), cached(item).
-- @tparam table list the entries
-- @tparam[opt] table opts client, dir, kind, formats, journal, concurrency, interval, timeout, extract,
-- on_event, after, before_submit, cached
-- @treturn[1] table the summary: total, done, failed, skipped, resumed, credits, elapsed, jobs
-- @treturn[2] nil
-- @treturn[2] Error err (nothing was submitted)
function M.batch(list, opts)
  if opts ~= nil and type(opts) ~= "table" then error("hy3d.batch: opts must be a table", 2) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.client == nil then o.client = default() end
  return batch.run(list, o)
end

--- Adds (or with replace = true, replaces) a job family (hy3d.families); a bad registration raises.
-- @tparam table def { name = "lowercase_identifier", submit = "SubmitXJob", query = "DescribeXJob"
-- [, doors = {...}] [, sites = {...}] [, replace = true] }
-- @treturn table the family's entry in hy3d.kinds
-- @function kinds.register

--- The job family names, sorted (built-in and registered).
-- @treturn {string,...} the names
-- @function kinds.list

--- A copy of the family called `name`.
-- @tparam string name the family
-- @treturn ?table { name, submit, query, doors, sites, builtin }, or nil when there is none
-- @function kinds.get

--- A task of hy3d.spawn (hy3d.scheduler): task.error is what it raised, task.traceback where.
-- @type Task

--- "running", "done" or "failed".
-- @treturn string the state
-- @function Task:status

--- The function's return values once done, or nil and the error once failed.
-- @return the return values, or nil and the error
-- @function Task:result

return M
