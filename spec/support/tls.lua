-- A private nginx terminating TLS in front of an HTTP server (hy3d-sandbox or bench/server), with a
-- self-signed certificate made at start: HTTP/1.1 on one port (`ssl`), HTTP/2 on another (`ssl
-- http2`), each logging `$ssl_session_reused $connection $ssl_protocol $server_protocol $uri` per
-- request. Used by spec/client/tls_spec.lua and bench/tls/run.lua. Needs nginx (with its ssl and
-- http2 modules: Debian's has both) and the openssl command; runs as any user in its own prefix.
local sandbox = require "spec.support.sandbox"
local socket = require "socket"

local q = sandbox.shell_quote
local NGINX = os.getenv("HY3D_NGINX") or "nginx"

local M = {}

--- Why it cannot run here, or nil.
function M.missing()
  local ok, out = sandbox.run(q(NGINX) .. " -V")
  if not ok then return ("nginx is not installed (`%s -V` failed; apt-get install nginx)"):format(NGINX) end
  if not out:find("--with-http_ssl_module", 1, true) then return "this nginx has no ssl module" end
  if not out:find("--with-http_v2_module", 1, true) then return "this nginx has no http2 module" end
  if not sandbox.run("openssl version") then return "the openssl command is not installed (apt-get install openssl)" end
  return nil
end

local function config(h1, h2, upstream)
  local host, port = upstream:match("^http://([^/:]+):(%d+)")
  local server = [[
  server {
    listen 127.0.0.1:%d %s;
    access_log logs/%s.log tls;
    location / {
      proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
]]
  return table.concat {
    "daemon off;\nworker_processes 1;\npid logs/nginx.pid;\nerror_log logs/error.log warn;\n",
    "events { worker_connections 4096; }\n",
    "http {\n",
    "  log_format tls '$ssl_session_reused $connection $ssl_protocol $server_protocol $uri';\n",
    "  client_body_temp_path temp/body; proxy_temp_path temp/proxy; fastcgi_temp_path temp/fastcgi;\n",
    "  uwsgi_temp_path temp/uwsgi; scgi_temp_path temp/scgi;\n",
    "  ssl_certificate cert.pem; ssl_certificate_key key.pem;\n",
    "  ssl_session_cache shared:hy3d:1m;\n",           -- session ids (TLS 1.2); tickets need nothing
    "  keepalive_requests 100000; http2_max_requests 100000;\n",
    ("  upstream upstream { server %s:%s; keepalive 64; }\n"):format(host, port),
    server:format(h1, "ssl", "h1"),
    server:format(h2, "ssl http2", "h2"),
    "}\n",
  }
end

local Nginx = {}
Nginx.__index = Nginx

--- Starts nginx in front of `upstream` (an http:// URL); returns it once both ports answer.
-- Fields: h1, h2 (https:// URLs), ca (the certificate, to trust as a CA file), prefix.
function M.start(upstream)
  local prefix = sandbox.tmpdir()
  assert(os.execute("mkdir -p " .. q(prefix .. "/logs") .. " " .. q(prefix .. "/temp") .. " " .. q(prefix .. "/conf")))
  local ok, out = sandbox.run(("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
    .. "-keyout conf/key.pem -out conf/cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1")
    :format(q(prefix)))
  assert(ok, "openssl req failed: " .. out)
  local h1, h2 = sandbox.dead_port(), sandbox.dead_port()
  sandbox.write_file(prefix .. "/conf/nginx.conf", config(h1, h2, upstream))
  local p = assert(io.popen(("env -u LD_PRELOAD %s -p %s -e logs/error.log -c conf/nginx.conf > %s 2>&1 & echo $!"):format(
    q(NGINX), q(prefix .. "/"), q(prefix .. "/logs/stdout"))))
  local pid = p:read("*l")
  p:close()
  local self = setmetatable({ prefix = prefix, pid = pid, ca = prefix .. "/conf/cert.pem",
                              h1 = ("https://127.0.0.1:%d"):format(h1), h2 = ("https://127.0.0.1:%d"):format(h2) }, Nginx)
  local deadline = socket.gettime() + 20
  repeat
    local c1, c2 = socket.connect("127.0.0.1", h1), socket.connect("127.0.0.1", h2)
    if c1 then c1:close() end
    if c2 then c2:close() end
    if c1 and c2 then
      self:clear()
      return self
    end
    socket.sleep(0.05)
  until socket.gettime() > deadline
  local log = self:log()
  self:stop()
  error("nginx did not start:\n" .. log)
end

function Nginx:log()
  return (sandbox.read_file(self.prefix .. "/logs/stdout") or "") .. (sandbox.read_file(self.prefix .. "/logs/error.log") or "")
end

--- Empties both access logs (nginx keeps appending to the same files).
function Nginx:clear()
  for _, name in ipairs { "h1", "h2" } do   -- nginx appends (O_APPEND): truncating is enough
    sandbox.write_file(("%s/logs/%s.log"):format(self.prefix, name), "")
  end
end

--- The requests logged on port `name` ("h1" or "h2"), in order: { reused = "r"|".", connection =
-- number, protocol = "TLSv1.3", http = "HTTP/2.0", uri = "/..." }.
function Nginx:requests(name)
  local list = {}
  for line in (sandbox.read_file(("%s/logs/%s.log"):format(self.prefix, name)) or ""):gmatch("[^\n]+") do
    local reused, conn, proto, http, uri = line:match("^(%S+) (%d+) (%S+) (%S+) (%S*)")
    if reused then
      list[#list + 1] = { reused = reused, connection = tonumber(conn), protocol = proto, http = http, uri = uri }
    end
  end
  return list
end

--- What port `name` saw: connections (distinct $connection), full (connections whose first request
-- shows a full handshake, $ssl_session_reused "."), requests, and the connections in the order
-- they were opened, each { id =, reused = its first request's flag }.
function Nginx:summary(name)
  local first, order = {}, {}
  local reqs = self:requests(name)
  for _, r in ipairs(reqs) do
    if not first[r.connection] then
      first[r.connection] = r.reused
      order[#order + 1] = r.connection
    end
  end
  table.sort(order)
  local conns, full = {}, 0
  for i, id in ipairs(order) do
    conns[i] = { id = id, reused = first[id] }
    if first[id] == "." then full = full + 1 end
  end
  return { connections = #order, full = full, requests = #reqs, list = conns }
end

function Nginx:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  for _ = 1, 100 do
    if not sandbox.run("kill -0 " .. self.pid .. " 2>/dev/null") then break end
    socket.sleep(0.05)
  end
  os.execute("kill -9 " .. self.pid .. " 2>/dev/null")
  os.execute("rm -rf " .. q(self.prefix))
end

return M
