-- bench/assets.lua — how long hy3d-sandbox's pure-Lua generator takes to build a result file at
-- the largest FaceCount it honours (100000 triangles by default): the mesh, then the file, per
-- shape, in CPU seconds (os.clock) and wall seconds. Prints a table; asserts nothing about speed
-- (spec/sandbox/assets_spec.lua checks what the files hold, not how fast they come).
--
-- Usage (from the repository root, Lua 5.3+ with lua-cjson and lua-zlib):
--   lua5.4 bench/assets.lua [--faces N] [--file model.glb] [--reps R]
package.path = "./sandbox/lua/?.lua;./sandbox/lua/?/init.lua;./lua/?.lua;./lua/?/init.lua;" .. package.path
local assets = require "hy3d.sandbox.assets"
local socket = require "socket"

local opt = { faces = 100000, file = "model.glb", reps = 3 }
do
  local i = 1
  while i <= #arg do
    local a, v = arg[i], arg[i + 1]
    if a == "--faces" and tonumber(v) then opt.faces = tonumber(v)
    elseif a == "--file" and v then opt.file = v
    elseif a == "--reps" and tonumber(v) then opt.reps = math.max(1, math.floor(tonumber(v)))
    else
      io.stderr:write("usage: lua5.4 bench/assets.lua [--faces N] [--file model.glb] [--reps R]\n")
      os.exit(2)
    end
    i = i + 2
  end
end

-- The median of a list of numbers.
local function median(list)
  table.sort(list)
  local n = #list
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end

print(("%s at FaceCount %d, median of %d runs (%s)"):format(opt.file, opt.faces, opt.reps, _VERSION))
print(("%-10s %10s %10s %10s %12s"):format("shape", "triangles", "cpu_s", "wall_s", "bytes"))
for _, shape in ipairs(assets.shapes) do
  local cpu, wall, size, triangles = {}, {}, 0, 0
  for r = 1, opt.reps do
    local a = assets.new { max_faces = math.max(opt.faces, 200) }   -- a fresh cache: nothing reused
    local d = a:describe { text = "a " .. shape, faces = opt.faces }
    local c0, w0 = os.clock(), socket.gettime()
    local body = a:file(d, opt.file)
    cpu[r], wall[r] = os.clock() - c0, socket.gettime() - w0
    if not body then
      io.stderr:write("bench/assets.lua: no file named ", opt.file, "\n")
      os.exit(2)
    end
    size, triangles = #body, #a:mesh(d).idx // 3
  end
  print(("%-10s %10d %10.3f %10.3f %12d"):format(shape, triangles, median(cpu), median(wall), size))
end
