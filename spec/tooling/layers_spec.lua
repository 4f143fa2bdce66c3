-- The shape of the code, checked: the C core names nothing of the service (its routes, actions and
-- answer field names are Lua data in lua/hy3d/doors.lua), and its units form layers that call only
-- downward but for the one marked call back up (hy3d__engine_detach). Each check is a function over
-- plain data, run on the tree and on a sample it must reject, so it can fail; Lua modules can get
-- their own section the same way.

-- ===== helpers =====

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function lines_of(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

-- ===== C: no service in src/ =====

-- What a string literal of src/ must not hold (Lua patterns): a route, the service or its host, an action, the
-- JobId body, or a field name of the service's answers (the envelope: Lua gives them to core.new).
local FORBIDDEN = {
  { "/v1/", "a gateway route" },
  { "ai3d", "the service's name" },
  { "tencentcloudapi", "the service's host" },
  { "Hunyuan", "an action" },
  { "JobId", "a job body" },
  { "^Submit%u", "an action" },
  { "^Query%u", "an action" },
  { "^Convert%u", "an action" },
  { "^Response$", "an envelope field" },
  { "^Error$", "an envelope field" },
  { "^Code$", "an envelope field" },
  { "^Message$", "an envelope field" },
  { "^RequestId$", "an envelope field" },
  -- (the OpenAI-style "error" is not checked: it is also a key of core.new's envelope table)
}

-- The string literals of C source text (comments and character constants left out), in order.
local function c_literals(text)
  text = text:gsub("/%*.-%*/", " "):gsub("//[^\n]*", " ")
  text = text:gsub("'\\?.'", "' '")
  local out, i = {}, 1
  while true do
    local s = text:find('"', i, true)
    if not s then break end
    local j = s + 1
    while j <= #text do
      local c = text:sub(j, j)
      if c == "\\" then j = j + 2
      elseif c == '"' or c == "\n" then break
      else j = j + 1 end
    end
    out[#out + 1] = text:sub(s + 1, j - 1)
    i = j + 1
  end
  return out
end

-- The findings in one file's text: "name: "literal" (why)".
local function service_names(name, text)
  local found = {}
  for _, lit in ipairs(c_literals(text)) do
    for _, rule in ipairs(FORBIDDEN) do
      if lit:find(rule[1]) then found[#found + 1] = ('%s: "%s" (%s)'):format(name, lit, rule[2]) end
    end
  end
  return found
end

-- ===== C: layers =====

-- The units of src/, top to bottom: a unit calls only units on lower lines (either one of a line
-- may not call the other), but for the calls BACK names.
local LAYERS = {
  { "hy3d_core" },                                            -- luaopen_hy3d_core, process-wide setup
  { "hy3d_engine" },                                          -- transport: multi handle, request, download
  { "hy3d_request" },                                         -- the hy3d.Request object
  { "hy3d_poll" },                                            -- engine:poll's spec, check and re-send
  { "hy3d_download", "hy3d_result" },                         -- the file sink; a finished transfer as Lua values
  { "hy3d_handle", "hy3d_sign", "hy3d_json", "hy3d_files", "hy3d_image", "hy3d_scan" },
  { "hy3d_util", "hy3d_buf" },                                -- helpers
}
-- The one call back up, as Lua-cURL's lcurl__multi_remove_handle: a request detaching from its engine.
local BACK = { ["hy3d_request -> hy3d_engine"] = { hy3d__engine_detach = true } }

-- The call graph between objects: { [caller] = { [callee] = { symbol = true } } }, from `nm` lines
-- per object ({ [unit] = { "U name", "0000 T name", ... } }).
local function call_graph(nm)
  local defined, graph = {}, {}
  for unit, lines in pairs(nm) do
    for _, line in ipairs(lines) do
      local kind, sym = line:match("(%a) (%S+)$")
      if kind and kind ~= "U" and kind:match("[TDRBC]") then defined[sym] = unit end
    end
  end
  for unit, lines in pairs(nm) do
    graph[unit] = {}
    for _, line in ipairs(lines) do
      local sym = line:match("^%s*U (%S+)$")
      local to = sym and defined[sym]
      if to and to ~= unit then
        graph[unit][to] = graph[unit][to] or {}
        graph[unit][to][sym] = true
      end
    end
  end
  return graph
end

-- What breaks the layers in graph: a unit LAYERS does not place, or an edge that does not go down
-- (unless BACK allows exactly its symbols, each marked with a double underscore).
local function layer_violations(graph, layers, back)
  local rank, out = {}, {}
  for i, units in ipairs(layers) do
    for _, u in ipairs(units) do rank[u] = i end
  end
  for from, edges in pairs(graph) do
    if not rank[from] then out[#out + 1] = from .. ": a unit no layer places" end
    for to, syms in pairs(edges) do
      if rank[from] and rank[to] and rank[to] <= rank[from] then
        local allowed = back[from .. " -> " .. to]
        for sym in pairs(syms) do
          if not (allowed and allowed[sym] and sym:match("^hy3d__")) then
            out[#out + 1] = ("%s -> %s: %s runs %s"):format(from, to, sym, rank[to] == rank[from] and "sideways" or "back up")
          end
        end
      end
    end
  end
  table.sort(out)
  return out
end

-- The object directory of the core this suite loaded (build/obj for 5.4, build/lua5.1/obj, ...).
local function obj_dir()
  local so = package.searchpath("hy3d.core", package.cpath)
  return so and so:gsub("hy3d/core%.so$", "obj")
end

describe("layers", function()
  describe("the C core", function()
    it("names no route, action, service or answer field in a string literal of src/", function()
      local found = {}
      for _, path in ipairs(lines_of("ls src/*.c src/*.h")) do
        for _, f in ipairs(service_names(path, read(path))) do found[#found + 1] = f end
      end
      assert.same({}, found)
    end)

    it("and that check catches them (in code, not in comments)", function()
      local sample = [[
        /* the envelope "Response" is Lua's */ // "JobId" too
        lua_pushfstring(L, "%s/v1/ai3d/query", base); lua_getfield(L, -1, "Response");
        e = "SubmitHunyuanTo3DProJob"; c = '"';
      ]]
      local found = service_names("sample.c", sample)
      assert.equal(5, #found, table.concat(found, "\n"))   -- /v1/ and ai3d; Response; Hunyuan and Submit
    end)

    it("forms layers that call only downward, but for hy3d__engine_detach", function()
      local dir = obj_dir()
      assert(dir, "hy3d.core not found on package.cpath")
      local nm = {}
      local objs = lines_of("ls " .. dir .. "/*.o 2>/dev/null")
      assert.is_true(#objs >= 10, "no objects in " .. dir .. " (make all builds them)")
      for _, o in ipairs(objs) do
        nm[o:match("([^/]+)%.o$")] = lines_of("nm " .. o)
      end
      local graph = call_graph(nm)
      assert.same({}, layer_violations(graph, LAYERS, BACK))
      -- the exception is real (and so still needed), and the only way up
      assert.same({ hy3d__engine_detach = true }, graph.hy3d_request.hy3d_engine)
    end)

    it("and that check catches a call back up or sideways, and a unit no layer places", function()
      local graph = call_graph {
        top = { "0000 T top_open", "U mid_run" },
        mid = { "0000 T mid_run", "U low_help", "U top_open" },
        low = { "0000 T low_help", "U low2_x" },
        low2 = { "0000 T low2_x" },
        stray = { "U low_help" },
      }
      local layers = { { "top" }, { "mid" }, { "low", "low2" } }
      assert.same({ "low -> low2: low2_x runs sideways", "mid -> top: top_open runs back up",
                    "stray: a unit no layer places" }, layer_violations(graph, layers, {}))
      -- a call BACK allows is none, when its name is marked; an unmarked one stays a violation
      local up = { top = {}, mid = { top = { hy3d__detach = true, plain = true } }, low = {}, low2 = {} }
      assert.same({ "mid -> top: plain runs back up" },
        layer_violations(up, layers, { ["mid -> top"] = { hy3d__detach = true, plain = true } }))
    end)
  end)
end)
