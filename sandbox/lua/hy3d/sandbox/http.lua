--- A small HTTP/1.1 server on luasocket for hy3d-sandbox: one thread, a coroutine per connection,
-- keep-alive, `Expect: 100-continue`, HEAD, handlers that may sleep without blocking others, a
-- deadline for request heads and a bound on open connections (slow clients cannot starve it).
local socket = require "socket"

local concat = table.concat
local gettime = socket.gettime

local MAX_HEAD = 64 * 1024
local MAX_BODY = 64 * 1024 * 1024

local REASONS = {
  [100] = "Continue", [200] = "OK", [206] = "Partial Content", [400] = "Bad Request",
  [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [408] = "Request Timeout", [411] = "Length Required", [413] = "Payload Too Large", [416] = "Range Not Satisfiable",
  [429] = "Too Many Requests", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

local Server = {}
Server.__index = Server

-- Reads whatever the peer has sent, yielding until the socket is readable. nil when closed.
local function recv(sock)
  while true do
    local data, err, partial = sock:receive(65536)
    if data then return data end
    if partial and #partial > 0 then return partial end
    if err ~= "timeout" then return nil end
    coroutine.yield("read")
  end
end

-- Sends all of data, yielding while the socket buffer is full. false when the peer went away.
local function send(sock, data)
  local i = 1
  while i <= #data do
    local last, err, partial = sock:send(data, i)
    if last then return true end
    if err ~= "timeout" then return false end
    i = partial + 1
    coroutine.yield("write")
  end
  return true
end

--- Sleeps inside a handler without blocking other connections.
local function sleep(seconds)
  if seconds and seconds > 0 then coroutine.yield("sleep", gettime() + seconds) end
end

local function parse_head(head)
  local lines = {}
  for line in head:gmatch("([^\r\n]*)\r?\n") do lines[#lines + 1] = line end
  local method, target, version = (lines[1] or ""):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return nil end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match("^([^:%s]+):%s*(.-)%s*$")
    if not name then return nil end
    name = name:lower()
    headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
  end
  -- absolute-form (a client talking to a proxy): serve it as if it had come directly
  local via_proxy = target:match("^https?://[^/]+(/.*)$") or (target:match("^https?://[^/]+$") and "/")
  local path, query = (via_proxy or target):match("^([^?]*)%??(.*)$")
  return { method = method, target = target, path = path, query = query, version = version,
           headers = headers, proxied = via_proxy ~= nil }
end

local function response_bytes(res, head_only, keep_alive)
  local body = res.body or ""
  local out = { ("HTTP/1.1 %d %s\r\n"):format(res.status, REASONS[res.status] or "Status") }
  local headers = res.headers or {}
  for name, value in pairs(headers) do out[#out + 1] = name .. ": " .. tostring(value) .. "\r\n" end
  if not headers["Content-Length"] then out[#out + 1] = "Content-Length: " .. #body .. "\r\n" end
  out[#out + 1] = "Server: hy3d-sandbox\r\n"
  out[#out + 1] = keep_alive and "Connection: keep-alive\r\n\r\n" or "Connection: close\r\n\r\n"
  if not head_only then out[#out + 1] = body end
  return concat(out)
end

-- The next number of the order in which connections begin waiting (oldest first on eviction).
function Server:tick()
  self.ticks = self.ticks + 1
  return self.ticks
end

-- Serves one connection: requests in sequence until the peer or a response closes it. While it
-- waits for a request head, conn.state says which kind of wait it is: "head" (a new connection,
-- or some bytes of a head: the header deadline runs from conn.head_since) or "idle" (keep-alive,
-- between requests); conn.order ranks the waits by when they began, conn.head_bytes counts
-- what has come of the head.
function Server:serve(conn)
  local sock = conn.sock
  local buf = ""
  local first = true
  while true do
    local head_end = buf:find("\r\n\r\n", 1, true)
    while not head_end do
      if #buf > MAX_HEAD then
        send(sock, response_bytes({ status = 431 }, false, false))
        return
      end
      if first or #buf > 0 then
        if conn.state ~= "head" then conn.state, conn.head_since, conn.order = "head", gettime(), self:tick() end
      elseif conn.state ~= "idle" then
        conn.state, conn.order = "idle", self:tick()
      end
      conn.head_bytes = #buf
      local data = recv(sock)
      if not data then return end
      conn.active = gettime()
      buf = buf .. data
      if buf:find("^[^%u\r\n]") then                 -- no request line can start so: a TLS handshake
        send(sock, response_bytes({ status = 400, body = "bad request: not HTTP (this server speaks plain "
          .. "HTTP; a TLS client wants http://)\n" }, false, false))
        return
      end
      head_end = buf:find("\r\n\r\n", 1, true)
    end
    conn.state, first = nil, false
    local req = parse_head(buf:sub(1, head_end + 1))
    buf = buf:sub(head_end + 4)
    if not req then
      send(sock, response_bytes({ status = 400, body = "bad request\n" }, false, false))
      return
    end
    local h = req.headers
    if h["transfer-encoding"] then
      send(sock, response_bytes({ status = 501, body = "chunked request bodies are not supported\n" }, false, false))
      return
    end
    local need = tonumber(h["content-length"] or "0")
    if not need or need < 0 or need > MAX_BODY then
      send(sock, response_bytes({ status = need and 413 or 400 }, false, false))
      return
    end
    if need > #buf and (h["expect"] or ""):lower() == "100-continue" then
      if not send(sock, "HTTP/1.1 100 Continue\r\n\r\n") then return end
    end
    local parts, have = { buf }, #buf
    while have < need do
      local data = recv(sock)
      if not data then return end
      parts[#parts + 1] = data
      have = have + #data
    end
    local all = concat(parts)
    req.body = all:sub(1, need)
    buf = all:sub(need + 1)
    req.connection = conn.id

    local keep_alive
    if req.version == "1.0" then
      keep_alive = (h["connection"] or ""):lower() == "keep-alive"
    else
      keep_alive = (h["connection"] or ""):lower() ~= "close"
    end
    local ok, res = pcall(self.handler, req)
    if not ok then
      io.stderr:write("hy3d-sandbox: handler error: ", tostring(res), "\n")
      res = { status = 500, headers = { ["Content-Type"] = "text/plain" }, body = "internal error\n" }
    end
    self.stats.requests_served = self.stats.requests_served + 1
    if res.drop then return end                          -- close without answering (fault)
    if res.reset then                                    -- close with a TCP RST (fault)
      sock:setoption("linger", { on = true, timeout = 0 })
      return
    end
    if res.close or res.cut_after then keep_alive = false end
    local bytes = response_bytes(res, req.method == "HEAD", keep_alive)
    if res.cut_after or res.stall_after then             -- faults: the body cut short, or paused
      local head = bytes:find("\r\n\r\n", 1, true) + 3
      local split = head + (res.cut_after or res.stall_after)
      if not send(sock, bytes:sub(1, split)) then return end
      if res.cut_after then return end
      sleep(res.stall or 1)
      bytes = bytes:sub(split + 1)
    end
    if not send(sock, bytes) then return end
    if not keep_alive or self.stopped then return end
  end
end

--- Binds to host:port (port 0: any free port). Returns the address and the port.
function Server:listen(host, port)
  local sock, err = socket.bind(host, port, 1024)
  if not sock then return nil, err end
  sock:settimeout(0)
  self.listener = sock
  local ip, p = sock:getsockname()
  return ip, tonumber(p)
end

function Server:close_conn(conn)
  if self.conns[conn.sock] then
    self.conns[conn.sock] = nil
    self.stats.connections_open = self.stats.connections_open - 1
  end
  conn.sock:close()
end

-- Resumes a connection's coroutine and records what it waits for next.
function Server:resume(conn)
  local ok, what, wake = coroutine.resume(conn.co, conn)
  if not ok then
    io.stderr:write("hy3d-sandbox: connection error: ", tostring(what), "\n")
    return self:close_conn(conn)
  end
  if coroutine.status(conn.co) == "dead" then return self:close_conn(conn) end
  conn.waiting, conn.wake = what, wake
end

-- Makes room for a new connection: closes the oldest incomplete request head (a slow or stalled
-- client), else the connection idle (between requests) the longest, as servers do with
-- keep-alive connections when they run out of room (clients open a new one). false when every
-- connection is busy with a request.
function Server:evict()
  local head, idle
  for _, conn in pairs(self.conns) do
    if conn.waiting == "read" and conn.state == "head" then
      if not head or conn.order < head.order then head = conn end
    elseif conn.waiting == "read" and conn.state == "idle" then
      if not idle or conn.order < idle.order then idle = conn end
    end
  end
  local victim = head or idle
  if not victim then return false end
  self.stats.connections_evicted = self.stats.connections_evicted + 1
  self:close_conn(victim)
  return true
end

-- Closes a connection whose request head is overdue: with a 408 when part of a head came (one
-- non-blocking send, whatever fits), silently when nothing did.
function Server:head_timeout(conn)
  if conn.head_bytes > 0 then
    conn.sock:send(response_bytes({ status = 408, headers = { ["Content-Type"] = "text/plain" },
                                    body = "request head not received in time\n" }, false, false))
  end
  self.stats.header_timeouts = self.stats.header_timeouts + 1
  self:close_conn(conn)
end

-- Whether a connection waits in the listen backlog (a readable listening socket).
local function pending(listener)
  local readable = socket.select({ listener }, nil, 0)
  return readable[1] ~= nil
end

function Server:accept()
  while self.stats.connections_open < self.max_connections do
    local sock = self.listener:accept()
    if not sock then return end
    sock:settimeout(0)
    sock:setoption("tcp-nodelay", true)
    local ip, port = sock:getpeername()
    local conn = { sock = sock, active = gettime(), id = tostring(ip) .. ":" .. tostring(port) }
    conn.co = coroutine.create(function(c) return self:serve(c) end)
    self.conns[sock] = conn
    self.stats.connections_opened = self.stats.connections_opened + 1
    self.stats.connections_open = self.stats.connections_open + 1
    self:resume(conn)
  end
end

--- Does all due work, waiting at most `timeout` seconds for something to happen.
function Server:step(timeout)
  local now = gettime()
  -- luasocket's select takes descriptors below FD_SETSIZE (1024) only: at max_connections, a
  -- connection waiting in the backlog gets the place of an incomplete head or an idle one, or
  -- waits there until one closes.
  local room = self.stats.connections_open < self.max_connections
    or (self.listener ~= nil and pending(self.listener) and self:evict())
  local rset, wset = { room and self.listener or nil }, {}
  local next_wake = now + (timeout or 1)
  for sock, conn in pairs(self.conns) do
    if conn.waiting == "read" then
      local deadline = conn.state == "head" and conn.head_since + self.header_timeout
      if deadline and now >= deadline then
        self:head_timeout(conn)
      elseif now - conn.active > self.idle_timeout then
        self:close_conn(conn)
      else
        rset[#rset + 1] = sock
        if deadline and deadline < next_wake then next_wake = deadline end
      end
    elseif conn.waiting == "write" then
      wset[#wset + 1] = sock
    elseif conn.waiting == "sleep" and conn.wake < next_wake then
      next_wake = conn.wake
    end
  end
  local readable, writable = socket.select(rset, wset, math.max(0, next_wake - now))
  for _, sock in ipairs(readable) do
    if sock == self.listener then
      self:accept()
    elseif self.conns[sock] then
      self.conns[sock].active = gettime()
      self:resume(self.conns[sock])
    end
  end
  for _, sock in ipairs(writable) do
    if self.conns[sock] then self:resume(self.conns[sock]) end
  end
  now = gettime()
  local due = {}
  for _, conn in pairs(self.conns) do
    if conn.waiting == "sleep" and conn.wake <= now then due[#due + 1] = conn end
  end
  for _, conn in ipairs(due) do self:resume(conn) end
end

--- Serves until stop() is called or `lifetime` seconds have passed.
function Server:run(lifetime)
  local deadline = lifetime and (gettime() + lifetime)
  while not self.stopped do
    if deadline and gettime() >= deadline then break end
    self:step(0.5)
  end
  self:close()
end

--- Closes every connection and the listening socket.
function Server:close()
  for _, conn in pairs(self.conns) do conn.sock:close() end
  self.conns = {}
  if self.listener then self.listener:close() end
  self.listener = nil
end

function Server:stop()
  self.stopped = true
end

local function new(handler, opts)
  opts = opts or {}
  return setmetatable({
    handler = handler,
    conns = {},
    idle_timeout = opts.idle_timeout or 120,
    header_timeout = opts.header_timeout or 10,
    max_connections = opts.max_connections or 900,
    ticks = 0,
    stats = { connections_opened = 0, connections_open = 0, connections_evicted = 0, header_timeouts = 0,
              requests_served = 0 },
  }, Server)
end

return {
  new = new,
  sleep = sleep,
  reasons = REASONS,
}
