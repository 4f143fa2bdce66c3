-- lua-http (on cqueues) + lua-cjson: 1 submit, then N queries on the gateway door. Debian's
-- lua-http 0.4 is for Lua 5.1 to 5.3 (run it with lua5.3). Mode "connection" keeps one HTTP/1.1
-- connection (http.client.connect, a new stream per request: lua-http's way to keep-alive);
-- mode "request" uses http.request, the documented one-call API, which opens a connection per
-- request (lua-http 0.4 has no pool). Errors raise.
-- Usage: lua5.3 lua_http.lua URL N [gateway] [connection|request]
local common = require "common"
local cjson = require "cjson"
local monotime = require("cqueues").monotime
local new_headers = require("http.headers").new

local mode = arg[4] or "connection"
local host, port = common.url:match("^http://([^:/]+):(%d+)")
local key = common.api_key

local post
if mode == "connection" then
  local conn = assert(require("http.client").connect { host = host, port = tonumber(port), tls = false, version = 1.1 })
  local authority = host .. ":" .. port
  post = function(path, params)
    local body = cjson.encode(params)
    local h = new_headers()
    h:append(":method", "POST")
    h:append(":scheme", "http")
    h:append(":authority", authority)
    h:append(":path", path)
    h:append("authorization", key)
    h:append("content-type", "application/json")
    h:append("content-length", tostring(#body))
    local stream = assert(conn:new_stream())
    assert(stream:write_headers(h, false))
    assert(stream:write_chunk(body, true))
    local rh = assert(stream:get_headers())
    local text = assert(stream:get_body_as_string())
    assert(rh:get(":status") == "200", rh:get(":status"))
    return cjson.decode(text).Response
  end
else
  local request = require "http.request"
  post = function(path, params)
    local req = request.new_from_uri(common.url .. path)
    req.headers:upsert(":method", "POST")
    req.headers:upsert("authorization", key)
    req.headers:upsert("content-type", "application/json")
    req:set_body(cjson.encode(params))
    local rh, stream = assert(req:go(10))
    local text = assert(stream:get_body_as_string())
    assert(rh:get(":status") == "200", rh:get(":status"))
    stream:shutdown()
    return cjson.decode(text).Response
  end
end

common.run("lua-http-" .. mode, post, monotime)
