-- fuzz/seeds.lua — (re)writes the seed corpora fuzz/corpus/response and fuzz/corpus/request from
-- real hy3d-sandbox answers. Run by `make fuzz-seeds` (under scripts/with-sandbox, which sets
-- HY3D_BASE_URL, HY3D_API_KEY, TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY); the files are
-- committed, so CI never needs to run this.
local http = require "socket.http"
local ltn12 = require "ltn12"
local core = require "hy3d.core"

local URL = assert(os.getenv("HY3D_BASE_URL"), "run under scripts/with-sandbox")
local KEY = os.getenv("HY3D_API_KEY")
local SECRET_ID, SECRET_KEY = os.getenv("TENCENTCLOUD_SECRET_ID"), os.getenv("TENCENTCLOUD_SECRET_KEY")
local DIR = arg[1] or "fuzz/corpus"

local function request(method, path, headers, body)
  local chunks = {}
  local _, status, res_headers = http.request {
    url = URL .. path, method = method, headers = headers,
    source = body and ltn12.source.string(body) or nil, sink = ltn12.sink.table(chunks),
  }
  return status, table.concat(chunks), res_headers
end

local function gateway(path, body, key)
  return request("POST", path, { Authorization = key or KEY, ["Content-Type"] = "application/json",
    ["Content-Length"] = #body }, body)
end

-- An API 3.0 call signed like hy3d's engine:request with an action (TC3-HMAC-SHA256 over content-type and host).
local function api3(action, body, secret_key)
  local host, ts = URL:match("^http://([^/]+)"), os.time()
  local auth = core.tc3_sign { secret_id = SECRET_ID, secret_key = secret_key or SECRET_KEY, timestamp = ts,
    payload = body, host = host }
  return request("POST", "/", { ["Content-Type"] = "application/json", Host = host, ["X-TC-Action"] = action,
    ["X-TC-Version"] = "2025-05-13", ["X-TC-Region"] = "ap-guangzhou", ["X-TC-Timestamp"] = tostring(ts),
    Authorization = auth, ["Content-Length"] = #body }, body)
end

local function fault(rule)
  local body = core.encode(rule)
  local status = request("POST", "/_sandbox/faults", { ["Content-Type"] = "application/json",
    ["Content-Length"] = #body }, body)
  assert(status == 200, "fault rule refused")
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function be16(n) return string.char((n >> 8) & 255, n & 255) end
local function be32(n) return string.char((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255) end

-- fuzz/response.c's layout: flags, CURLcode, status, chunk size, bytes, max_bytes[, errbuf], body.
local function response_seed(name, o)
  local flags = (o.file and 1 or 0) | (o.errbuf and 32 or 0)
  local head = string.char(flags, o.curl or 0) .. be16(o.status or 200) .. string.char(o.chunk or 0)
    .. be32(o.bytes or 0) .. be32(o.max_bytes or 0)
  if o.errbuf then head = head .. string.char(#o.errbuf) .. o.errbuf end
  write(DIR .. "/response/" .. name, head .. (o.body or ""))
end

-- fuzz/request.c's operations (see run_op and push_value there).
local function str16(s) return be16(#s) .. s end
local function tree_string(s) return "\7" .. str16(s) end
local function request_seed(name, bytes) write(DIR .. "/request/" .. name, bytes) end

os.execute("mkdir -p " .. DIR .. "/response " .. DIR .. "/request")

-- gateway door: submit, query while WAIT and once DONE, an unknown JobId, a bad key, a bad option
local status, body = gateway("/v1/ai3d/submit", '{"Prompt":"a small wooden chair","FaceCount":3000}')
response_seed("gateway-submit", { status = status, body = body })
local job = assert(body:match('"JobId"%s*:%s*"(%d+)"'), body)
local query = '{"JobId":"' .. job .. '"}'
status, body = gateway("/v1/ai3d/query", query)
response_seed("gateway-query-wait", { status = status, body = body, chunk = 7 })
local done_body
for _ = 1, 100 do
  status, body = gateway("/v1/ai3d/query", query)
  if body:find('"DONE"', 1, true) then done_body = body break end
  require("socket").sleep(0.05)
end
assert(done_body, "the job never finished")
response_seed("gateway-query-done", { status = status, body = done_body })
status, body = gateway("/v1/ai3d/query", '{"JobId":"1"}')
response_seed("gateway-unknown-job", { status = status, body = body })
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"x"}', "sk-wrong")
response_seed("gateway-bad-key", { status = status, body = body })
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"a chair","FaceCount":-5}')
response_seed("gateway-invalid", { status = status, body = body })

-- API 3.0 door: the {"Response": ...} envelope, a signature failure, an unknown action
status, body = api3("SubmitHunyuanTo3DProJob", '{"Prompt":"a red teapot"}')
response_seed("api3-submit", { status = status, body = body })
status, body = api3("QueryHunyuanTo3DProJob", '{"JobId":"1"}')
response_seed("api3-unknown-job", { status = status, body = body })
status, body = api3("SubmitHunyuanTo3DProJob", '{"Prompt":"x"}', "wrong-secret-key")
response_seed("api3-bad-signature", { status = status, body = body })
status, body = api3("NoSuchAction", '{}')
response_seed("api3-unknown-action", { status = status, body = body })

-- faults: an error status with an HTML page, 429 with Retry-After, garbage, a business error
fault { route = "submit", action = "status", status = 503, body = "<html><body>503 Service Unavailable</body></html>",
        content_type = "text/html" }
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"x"}')
response_seed("fault-503-html", { status = status, body = body })
fault { route = "submit", action = "status", status = 429, retry_after = 2 }
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"x"}')
response_seed("fault-429", { status = status, body = body })
fault { route = "submit", action = "garbage" }
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"x"}')
response_seed("fault-garbage", { status = status, body = body })
fault { route = "submit", action = "api_error", code = "FailedOperation.RequestTimeout", message = "try again" }
status, body = gateway("/v1/ai3d/submit", '{"Prompt":"x"}')
response_seed("fault-api-error", { status = status, body = body })

-- downloads and transfer errors
local glb_url = assert(done_body:match('"Url"%s*:%s*"([^"]+%.glb[^"]*)"'), done_body):gsub("\\/", "/")
local _, glb = request("GET", glb_url:sub(#URL + 1))
response_seed("file-ok", { file = true, status = 200, bytes = #glb, body = "" })
status, body = request("GET", "/files/no-such-file.glb")
response_seed("file-404", { file = true, status = status, body = body })
response_seed("file-too-large", { file = true, status = 200, bytes = 4096, max_bytes = 1024, curl = 23 })
response_seed("connect-refused", { curl = 7, status = 0, errbuf = "Failed to connect to 127.0.0.1 port 1: Connection refused" })
response_seed("timeout", { curl = 28, status = 0, errbuf = "Operation timed out after 1000 milliseconds with 0 bytes received" })
response_seed("partial", { curl = 18, status = 200, body = done_body:sub(1, 40) })

-- request corpus: decode real answers, encode a submit body, sign, base64, submit, call, new
request_seed("decode-query-done", "\1" .. str16(done_body:sub(1, 4096)))
request_seed("decode-api3", "\1" .. str16(select(2, api3("QueryHunyuanTo3DProJob", '{"JobId":"1"}'))))
-- {Prompt = "a small wooden chair", FaceCount = 3000}: a map of 2 (word keys), then encode it
local submit_tree = "\11\2" .. "\0\1" .. tree_string("a small wooden chair")
  .. "\0\12" .. "\4" .. string.rep("\0", 6) .. be16(3000)
request_seed("encode-submit", "\0" .. submit_tree)
-- tc3_sign with every field good, signed headers chosen from the list, no extra headers
request_seed("tc3-good", "\3" .. "\1\1\1\1\1\1" .. "\1\0" .. "\1" .. "\0" .. "\0")
request_seed("base64-png", "\2" .. str16("\137PNG\r\n\26\n\0\0\0\13IHDR"))
-- submit {Prompt = <tree>} without a timeout, closed at once; call the Pro action with the tree
request_seed("submit", "\4" .. tree_string("a small wooden chair") .. "\0")
request_seed("call", "\68" .. "\1" .. submit_tree .. "\0")
request_seed("query", "\6" .. be16(#job) .. job .. "\0")
-- core.new with the usual options good (base_url, timeouts, user_agent, authorization, stall; no
-- TLS files), a tc3 table and an envelope of good fields, then the unroutable engine's submit left
-- to engine:close
request_seed("new-good", "\7" .. "\0" .. "\1\1\1\1" .. "\1\0\0\0" .. "\1" .. "\1\1\1\1\1\1\1" .. "\1" .. "\1\1\1\1\1\1"
  .. "\40" .. submit_tree .. "\0")
print("seeds written to " .. DIR)
