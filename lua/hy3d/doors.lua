-- hy3d.doors — the service's doors as data: per door, what credentials it takes, the routes or path
-- a request goes to, and the field names of its answers (the envelope the C core classifies with:
-- the core names nothing of the service). Used by hy3d.options (choosing a door) and
-- hy3d.transport (one exchange). Depends on the doors kept in their own modules (hy3d.doors.*:
-- tokenhub, local, mps).
--
-- A door is a table. Its data:
--   name         how hy3d.new's `door` option and HY3D_DOOR name it
--   credentials  "key" (an API key, sent as the Authorization header), "pair" (SecretId and
--                SecretKey: every request signed with TC3-HMAC-SHA256, in C) or "none"
--   envelope     where its answers keep the request id and an error (core.new's `envelope`)
--   families     the job families it offers (a set), or nil for every family (then which site
--                offers which is the registry's: hy3d.kinds.register's `sites`)
--   url          its default base URL (a "pair" door: the endpoint) (optional; else hy3d.options')
--   service, version   what a "pair" door signs for and sends as X-TC-Version (optional)
--   region       its default X-TC-Region, or false when it takes none (optional)
--   auth_scheme  "Bearer" when the key always goes after that scheme (else the auth_scheme option)
--   sites        { <site> = overlay } (optional): the door on a site other than the mainland, when the
--                door keeps it itself (hy3d.sites keeps API 3.0's); hy3d.sites.door lays the overlay
--                over the door: url, service, version, region, regions (the site's regions),
--                families, `actions` (family -> { submit, query }: a built-in family the site names
--                its own way) and `unsupported` (family -> submit fields the site does not take:
--                refused, NOT_ON_SITE); the overlaid table also has `site` (the site's name)
--   any fields of its own that its hooks read (routes such as submit/query, path, models, ...)
-- Its hooks, each called as door:hook(...) on the door's table on the client's site:
--   request(door, action, params, submit) -> method, target, body, signed
--                what one exchange sends for an action (the family's Submit or Query/Describe
--                name, or any action for client:call): the method, a path (joined to the base
--                URL), the body (a table sent as JSON, a string or nil) and the action to sign
--                (nil: unsigned); or nil and the fields of an error (nothing is sent: a field
--                the door cannot express is an invalid error naming the door)
--   answer(door, action, res, submit, params) -> res | nil, error fields   (optional)
--                the answer as the client reads it (the shape of API 3.0's Response; hy3d's own
--                added fields lowercase: the door's answer as it came under `raw`)
--   failure(door, action, err, submit, params) -> err   (optional)
--                a failed exchange's error fields, put in hy3d's kinds (e.g. http -> api)
--   check(door, kind, params) -> nil | { field, message }   (optional)
--                the door's own local rules, in place of hy3d.validate's (validate = true)
--   prompt_limits  { kind = characters }: the door's own Prompt limits for hy3d.validate's rules
--   poll         { path = field names, running = statuses, progress = field names } (optional): where
--                a query's answer (inside the envelope's root, before `answer`) keeps the job's status,
--                the statuses of a job still running, and where its progress is (optional); with it
--                (and no `exchange`) client:wait lets the engine poll (engine:poll: re-sent in C, Lua
--                runs only when the status leaves them, or, for on_status, when it or the progress changes)
-- An exchange is request, then (on an answer) answer or (on a failed exchange) failure. A door
-- whose exchange is not one JSON request and answer adds, all optional:
--   exchange(door, transport, action, params, timeout, submit) -> res | nil, error fields | nothing
--                makes the exchange itself on the transport's engine (e.g. a download into a file,
--                for an answer too big for the engine's API bodies); returning nothing (no value
--                at all) leaves it to request/answer/failure
--   save(door, client, url, path, opts) -> path, bytes | nil, err
--                saves a result file whose Url is not a plain file's (download_files, generate)
--   health(door, transport, timeout) -> res | nil, error fields
--                a health check, for client:health() (without it: invalid, HEALTH_NOT_ON_DOOR)
-- A door's options beyond the common ones reach it as transport.door_options (the local door's
-- stuck_timeout, sync_generate). Its own fields in results are lowercase: the answer as it came is
-- under `raw`.
-- Doors other than the gateway and API 3.0 live in modules of their own (hy3d.doors.tokenhub,
-- hy3d.doors.local, hy3d.doors.mps).
local M = {}

-- Where the service's answers keep what a client reads: {"Response": {..., "RequestId": ...,
-- "Error": {"Code": ..., "Message": ...}}}, and an error object beside a non-2xx status
-- ({"error": {"message": ..., "code": ...}} or {"error": "..."}). Given to core.new as `envelope`.
M.envelope = {
  root = "Response", error = "Error", code = "Code", message = "Message", request_id = "RequestId",
  http_error = "error",
}

-- Where a query's answer keeps the job's status, and the statuses of a running job (engine:poll's).
M.status_poll = { path = { "Status" }, running = { "WAIT", "RUN" }, progress = { "Progress" } }

-- The gateway (an API key): JSON POSTs to one route per call, the key as the Authorization
-- header, raw or after the scheme (auth_scheme = "Bearer"). Pro jobs only.
M.gateway = {
  name = "gateway",
  credentials = "key",
  submit = "/v1/ai3d/submit",
  query = "/v1/ai3d/query",
  scheme = "Bearer",
  envelope = M.envelope,
  families = { pro = true },
  poll = M.status_poll,
  request = function(door, _, params, submit)
    return "POST", submit and door.submit or door.query, params, nil
  end,
}

-- API 3.0 (SecretId/SecretKey): every action a JSON POST to one path, signed with
-- TC3-HMAC-SHA256 for this service (the action in X-TC-Action).
M.api3 = {
  name = "api3",
  credentials = "pair",
  path = "/",
  service = "ai3d",
  envelope = M.envelope,
  poll = M.status_poll,
  request = function(door, action, params)
    return "POST", door.path, params, action
  end,
}

-- Media Processing (MPS): TC3 for service mps, SubmitHunyuan3DTask / QueryHunyuan3DTask
-- (hy3d.doors.mps); its answers keep API 3.0's envelope.
M.mps = require "hy3d.doors.mps"
M.mps.envelope = M.envelope

-- TokenHub: Bearer key, snake_case fields, its own routes and envelope (hy3d.doors.tokenhub).
M.tokenhub = require "hy3d.doors.tokenhub"

-- local: a self-hosted Hunyuan3D-2 / 2.1 server, no credentials (hy3d.doors.local).
M["local"] = require "hy3d.doors.local"

-- The doors by name, and their names in the order messages list them.
local BY_NAME = { gateway = M.gateway, api3 = M.api3, tokenhub = M.tokenhub, ["local"] = M["local"], mps = M.mps }
M.names = { "gateway", "api3", "tokenhub", "local", "mps" }

--- The door called `name`, or nil.
function M.get(name)
  return BY_NAME[name]
end

return M
