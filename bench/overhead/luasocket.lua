-- luasocket's socket.http + lua-cjson: 1 submit, then N queries on the gateway door.
-- socket.http.request cannot keep a connection: it always sends "Connection: close, TE" and closes,
-- so every request opens a TCP connection (mode "request", the documented API). Mode "open" keeps
-- one connection by hand with the module's undocumented lower layer (socket.http.open and the
-- connection's send*/receive* methods), with TCP_NODELAY set; errors raise in both.
-- Usage: lua5.4 luasocket.lua URL N [gateway] [request|open]
local common = require "common"
local cjson = require "cjson"
local http = require "socket.http"
local ltn12 = require "ltn12"
local socket = require "socket"

local mode = arg[4] or "request"
local gettime = socket.gettime
local host, port = common.url:match("^http://([^:/]+):(%d+)")
local key = common.api_key

local post
if mode == "open" then
  local h = http.open(host, tonumber(port), socket.tcp)
  h.c:setoption("tcp-nodelay", true)
  local authority = host .. ":" .. port
  post = function(path, params)
    local body = cjson.encode(params)
    local headers = { host = authority, ["content-type"] = "application/json", ["content-length"] = tostring(#body),
                      authorization = key }
    h:sendrequestline("POST", path)
    h:sendheaders(headers)
    h:sendbody(headers, ltn12.source.string(body))
    local code = h:receivestatusline()
    local rh = h:receiveheaders()
    local chunks = {}
    h:receivebody(rh, (ltn12.sink.table(chunks)))   -- sink.table returns the table too: not a step
    assert(code == 200, code)
    return cjson.decode(table.concat(chunks)).Response
  end
else
  post = function(path, params)
    local body = cjson.encode(params)
    local chunks = {}
    local ok, code = http.request {
      url = common.url .. path, method = "POST", source = ltn12.source.string(body), sink = ltn12.sink.table(chunks),
      headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#body), authorization = key },
    }
    assert(ok and code == 200, code)
    return cjson.decode(table.concat(chunks)).Response
  end
end

common.run("luasocket-" .. mode, post, gettime)
