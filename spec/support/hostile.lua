-- A small hostile file host for download specs: a luasocket child process answering by a script.
-- Each request gets the next answer of a plan (trickle, change the object, lie about ranges,
-- redirect, huge headers), and the host logs what it was asked.
--
-- In a spec: local h = hostile.start { plan... }; h.url; h:requests(); h:stop().
-- A plan is a list of answers, one per request in arrival order (the last one repeats). An answer:
--   object = "A"      the bytes served: object(name, size) below (default "A"), size = bytes
--   etag, last_modified  validators to send (etag may be false: none); ranges = true honours Range
--                     (206 with Content-Range, If-Range compared with etag / last_modified)
--   start_lie, total_lie  serve a 206 from that many bytes later (saying so) / replace its total
--                     (total_lie = "*": a Content-Range that does not say the total)
--   ignore_if_range   honour Range even when If-Range names another version
--   cut_after = N     send N body bytes, then close the connection
--   rate = B/s         send the body in 1/10 s slices at that rate (forever when forever = true)
--   hold_after = N     send N body bytes, then keep the connection open without sending more
--   burst = {bytes, every}  send `bytes`, pause `every` seconds, again, until the body is sent
--   status, headers    override the status and add headers; body = "..." a literal body
--   chunked = N        no Content-Length: Transfer-Encoding chunked, in chunks of N bytes
--   big_header = N     one header line of N bytes; redirect = "url" a 302 to it
-- Run as a script (the child): lua hostile.lua PLANFILE LOGFILE
local socket = require "socket"
local cjson = require "cjson"

local M = {}

--- The bytes of a named object: a pattern that differs between names at every offset.
function M.object(name, size)
  local unit = (name == "B") and "ZYXWVUTSRQPONMLK" or "0123456789abcdef"
  return unit:rep(math.floor(size / 16)) .. unit:sub(1, size % 16)
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- ===== the child =====

local function serve(planfile, logfile)
  local plan = cjson.decode(assert(read_file(planfile)))
  local server = assert(socket.bind("127.0.0.1", 0))
  server:settimeout(0)
  local _, port = server:getsockname()
  io.stdout:write(("http://127.0.0.1:%d\n"):format(port))
  io.stdout:flush()
  local log = assert(io.open(logfile, "ab"))
  local tasks, count = {}, 0      -- coroutine -> { sock = , wake = , want = "r"|"w" }

  -- Blocks the calling task until its socket is readable / writable, or until time t.
  local function wait_read(t) t.want, t.wake = "r", nil; coroutine.yield() end
  local function sleep(t, s) t.want, t.wake = nil, socket.gettime() + s; coroutine.yield() end

  local function send_all(t, data)
    local i = 1
    while i <= #data do
      local last, err, partial = t.sock:send(data, i)
      if last then i = last + 1
      elseif err == "timeout" then i = partial + 1; t.want, t.wake = "w", nil; coroutine.yield()
      else error("closed") end
    end
  end

  local function read_head(t)
    local buf = ""
    while not buf:find("\r\n\r\n", 1, true) do
      local data, err, partial = t.sock:receive(4096)
      data = data or partial
      if data and #data > 0 then buf = buf .. data
      elseif err == "closed" then return nil
      else wait_read(t) end
    end
    local head = buf:match("^(.-)\r\n\r\n")
    local method, target = head:match("^(%u+) (%S+)")
    local headers = {}
    for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do headers[name:lower()] = value end
    return method, target, headers
  end

  local function answer(t, a, req)
    local status, headers, body = a.status or 200, {}, a.body
    if a.redirect then status, body = 302, ""; headers[#headers + 1] = "Location: " .. a.redirect end
    if not body then body = M.object(a.object or "A", a.size or 0) end
    local whole = #body
    if a.etag ~= false and a.etag then headers[#headers + 1] = "ETag: " .. a.etag end
    if a.last_modified then headers[#headers + 1] = "Last-Modified: " .. a.last_modified end
    local range = req.headers.range
    local if_range = req.headers["if-range"]
    local valid = a.ignore_if_range or not if_range or if_range == a.etag or if_range == a.last_modified
    if a.ranges and range and valid and status == 200 then
      local first = tonumber(range:match("^bytes=(%d+)%-$"))
      if first and first < whole then
        status = 206
        local start = first + (a.start_lie or 0)
        body = body:sub(start + 1)
        headers[#headers + 1] = ("Content-Range: bytes %d-%d/%s"):format(start, start + #body - 1,
          tostring(a.total_lie or whole))
      elseif first then
        status, body = 416, ""
        headers[#headers + 1] = ("Content-Range: bytes */%d"):format(whole)
      end
    end
    if a.big_header then headers[#headers + 1] = "X-Big: " .. ("x"):rep(a.big_header) end
    for _, h in ipairs(a.headers or {}) do headers[#headers + 1] = h end
    local length = a.chunked and "Transfer-Encoding: chunked" or ("Content-Length: %d"):format(a.length or #body)
    local head = ("HTTP/1.1 %d Hostile\r\n%s\r\nConnection: close\r\n%s\r\n"):format(
      status, length, #headers > 0 and (table.concat(headers, "\r\n") .. "\r\n") or "")
    send_all(t, head)
    if a.chunked then
      for i = 1, #body, a.chunked do
        local piece = body:sub(i, i + a.chunked - 1)
        send_all(t, ("%x\r\n%s\r\n"):format(#piece, piece))
      end
      send_all(t, "0\r\n\r\n")
    elseif a.cut_after then
      send_all(t, body:sub(1, a.cut_after))
    elseif a.hold_after then
      send_all(t, body:sub(1, a.hold_after))
      while true do sleep(t, 3600) end
    elseif a.rate then
      local slice, i = math.max(1, math.floor(a.rate / 10)), 1
      while a.forever or i <= #body do
        local piece = body:sub(i, i + slice - 1)
        if #piece == 0 then piece = ("."):rep(slice) end
        send_all(t, piece)
        i = i + slice
        sleep(t, 0.1)
      end
    elseif a.burst then
      local i = 1
      while i <= #body do
        send_all(t, body:sub(i, i + a.burst[1] - 1))
        i = i + a.burst[1]
        sleep(t, a.burst[2])
      end
    else
      send_all(t, body)
    end
  end

  local function handle(t)
    local method, target, headers = read_head(t)
    if not method then return end
    if target == "/_stop" then os.exit(0) end
    count = count + 1
    local a = plan[math.min(count, #plan)]
    log:write(cjson.encode { n = count, method = method, target = target, range = headers.range,
                             if_range = headers["if-range"] }, "\n")
    log:flush()
    answer(t, a, { headers = headers })
    if not a.cut_after then sleep(t, 0.05) end    -- let the client read before the close
  end

  while true do
    local readers, writers, due = { server }, {}, socket.gettime() + 1
    for _, t in pairs(tasks) do
      if t.want == "r" then readers[#readers + 1] = t.sock
      elseif t.want == "w" then writers[#writers + 1] = t.sock
      elseif t.wake then due = math.min(due, t.wake) end
    end
    local r, w = socket.select(readers, writers, math.max(0, due - socket.gettime()))
    local ready = {}
    for _, s in ipairs(r) do ready[s] = true end
    for _, s in ipairs(w) do ready[s] = true end
    if ready[server] then
      local c = server:accept()
      if c then
        c:settimeout(0)
        local t = { sock = c }
        t.co = coroutine.create(function() handle(t) end)
        tasks[t.co] = t
      end
    end
    local now = socket.gettime()
    for co, t in pairs(tasks) do
      if (t.want == nil and (t.wake == nil or t.wake <= now)) or (t.want and ready[t.sock]) then
        local ok = coroutine.resume(co, t)
        if not ok or coroutine.status(co) == "dead" then
          t.sock:close()
          tasks[co] = nil
        end
      end
    end
  end
end

-- ===== the parent =====

local Host = {}
Host.__index = Host

--- What the host was asked, in order: { n, method, target, range, if_range } per request.
function Host:requests()
  local out = {}
  for line in (read_file(self.log) or ""):gmatch("[^\n]+") do out[#out + 1] = cjson.decode(line) end
  return out
end

function Host:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  os.remove(self.out)
  os.remove(self.log)
  os.remove(self.planfile)
end

local started = {}
local function sweep()
  for _, h in ipairs(started) do h:stop() end
end
if newproxy then
  M._sweeper = newproxy(true)
  getmetatable(M._sweeper).__gc = sweep
else
  M._sweeper = setmetatable({}, { __gc = sweep })
end

--- Starts a hostile host with a plan (a list of answers, or one answer). Returns it with .url.
function M.start(plan)
  if plan[1] == nil then plan = { plan } end
  local lua = os.getenv("HY3D_SANDBOX_LUA") or "lua5.4"
  local out, log, planfile = os.tmpname(), os.tmpname(), os.tmpname()
  local f = assert(io.open(planfile, "wb"))
  f:write(cjson.encode(plan))
  f:close()
  local script = debug.getinfo(1, "S").source:match("^@(.*)$")
  local cmd = ("%s %s %s %s > %s 2>&1 & echo $!"):format(lua, shell_quote(script), shell_quote(planfile),
    shell_quote(log), shell_quote(out))
  local p = assert(io.popen(cmd))
  local pid = p:read("*l")
  p:close()
  local deadline, url = socket.gettime() + 15
  repeat
    url = (read_file(out) or ""):match("^(http://[%d%.]+:%d+)\n")
    if url then break end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  if not url then
    os.execute("kill " .. pid .. " 2>/dev/null")
    error("hostile host did not start: " .. (read_file(out) or "(no output)"))
  end
  local h = setmetatable({ url = url, pid = pid, out = out, log = log, planfile = planfile }, Host)
  started[#started + 1] = h
  return h
end

--- An https host (openssl s_server, a self-signed certificate for 127.0.0.1) that answers one
-- connection with a 302 to `location`. Returns its URL, the certificate (a ca_file) and a stop().
function M.tls_redirect(location)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. shell_quote(dir)))
  local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
  assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
    .. "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1"):format(shell_quote(key), shell_quote(cert))))
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  local response = ("HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"):format(location)
  local answer = dir .. "/answer"
  local f = assert(io.open(answer, "wb"))
  f:write(response)
  f:close()
  -- stdin is read once the client connects: the answer, then (end of file) the connection closes
  local p = assert(io.popen(("(sleep 0.3; cat %s) | openssl s_server -quiet -naccept 1 -accept 127.0.0.1:%d -cert %s -key %s "
    .. ">/dev/null 2>&1 & echo $!"):format(shell_quote(answer), port, shell_quote(cert), shell_quote(key))))
  local pid = p:read("*l")
  p:close()
  local deadline = socket.gettime() + 15
  repeat                                          -- until it listens (a probe connection would use up -naccept 1)
    local ss = io.popen("ss -ltn 2>/dev/null"):read("*a")
    if ss:find("127.0.0.1:" .. port, 1, true) then break end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return { url = ("https://127.0.0.1:%d/model.glb"):format(port), ca_file = cert, stop = function()
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.execute("rm -rf " .. shell_quote(dir))
  end }
end

if arg and arg[0] and arg[0]:match("hostile%.lua$") and arg[1] then
  serve(arg[1], arg[2])
end

return M
