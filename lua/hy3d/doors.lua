-- hy3d.doors — the service's doors as data: per door, the routes or path a request goes to, how it
-- is authorized, and the field names of its answers (the envelope the C core classifies with: the
-- core names nothing of the service). Used by the client; later doors (TokenHub, self-hosted, MPS)
-- are added here. Depends on nothing.
local M = {}

-- Where the service's answers keep what a client reads: {"Response": {..., "RequestId": ...,
-- "Error": {"Code": ..., "Message": ...}}}, and an error object beside a non-2xx status
-- ({"error": {"message": ..., "code": ...}} or {"error": "..."}). Given to core.new as `envelope`.
M.envelope = {
  root = "Response", error = "Error", code = "Code", message = "Message", request_id = "RequestId",
  http_error = "error",
}

-- The gateway (an API key): JSON POSTs to one route per call, the key as the Authorization
-- header, raw or after the scheme (auth_scheme = "Bearer").
M.gateway = {
  submit = "/v1/ai3d/submit",
  query = "/v1/ai3d/query",
  scheme = "Bearer",
  envelope = M.envelope,
}

-- API 3.0 (SecretId/SecretKey): every action a JSON POST to one path, signed with
-- TC3-HMAC-SHA256 for this service (the action in X-TC-Action).
M.api3 = {
  path = "/",
  service = "ai3d",
  envelope = M.envelope,
}

return M
