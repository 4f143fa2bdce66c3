-- hy3d.doors — the service's doors as data: per door, what credentials it takes, the routes or path
-- a request goes to, and the field names of its answers (the envelope the C core classifies with:
-- the core names nothing of the service). Used by hy3d.options (choosing a door) and
-- hy3d.transport (one exchange). Depends on nothing.
--
-- A door is a table:
--   name         how hy3d.new's `door` option and HY3D_DOOR name it
--   credentials  "key" (an API key, sent as the Authorization header), "pair" (SecretId and
--                SecretKey: every request signed with TC3-HMAC-SHA256, in C) or "none"
--   envelope     where its answers keep the request id and an error (core.new's `envelope`)
--   families     the job families it offers (a set), or nil for every family
--   request(door, action, params, submit) -> method, target, body, signed
--                what one exchange sends for an action (the family's Submit or Query/Describe
--                name, or any action for client:call): the method, a path (joined to the base
--                URL), the body (a table sent as JSON, a string or nil) and the action to sign
--                (nil: unsigned)
--   answer(door, action, res, submit) -> res | nil, error fields   (optional)
--                the answer as the client reads it (the shape of API 3.0's Response)
--   exchange(door, transport, action, params, timeout, submit) -> res | nil, error fields  (optional)
--                the whole exchange made by the door itself on the transport's engine (instead of
--                request/answer); save(door, client, url, path, opts) -> path, bytes | nil, err
--                (optional) saves a result file whose Url is not a file's (download_files);
--                health(door, transport) (optional) for client:health()
local M = {}

-- Where the service's answers keep what a client reads: {"Response": {..., "RequestId": ...,
-- "Error": {"Code": ..., "Message": ...}}}, and an error object beside a non-2xx status
-- ({"error": {"message": ..., "code": ...}} or {"error": "..."}). Given to core.new as `envelope`.
M.envelope = {
  root = "Response", error = "Error", code = "Code", message = "Message", request_id = "RequestId",
  http_error = "error",
}

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
  request = function(door, action, params)
    return "POST", door.path, params, action
  end,
}

-- The doors by name, and their names in the order messages list them.
local BY_NAME = { gateway = M.gateway, api3 = M.api3 }
M.names = { "gateway", "api3" }

-- The self-hosted Hunyuan3D-2 / 2.1 server (no credentials): hy3d.doors.local.
M["local"] = require "hy3d.doors.local"
BY_NAME["local"] = M["local"]
M.names[#M.names + 1] = "local"

--- The door called `name`, or nil.
function M.get(name)
  return BY_NAME[name]
end

return M
