--- hy3d.cli.cmd.inspect: `hy3d inspect FILE...`: what model files hold (hy3d.inspect), as text or JSON lines.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local inspection = require "hy3d.inspect"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local format, concat = string.format, table.concat
local EXIT, usage_error = exit.EXIT, exit.usage_error
local round3 = output.round3

local USAGE = [[
usage: hy3d inspect [options] FILE...

Prints what each model file holds: format and size, meshes, vertices, triangles, bones,
animations, the bounding box, materials and their textures, embedded images (format and pixel
size), and which post-processing jobs take the file (rigging: FBX/GLB up to 60 MB, part: FBX, ...).
FILE is a GLB (or glTF), an OBJ or the zip the service delivers OBJ in, an STL (binary or ASCII)
or an FBX (binary or ASCII). Nothing is written; a model's MTL and textures are read only from
its own folder or zip. Parsing needs hy3d.mesh (Open Asset Import Library; `make` builds it where
libassimp-dev is installed). Exits 2 when a file is not a model it can read, 7 when it cannot be read.

]] .. args.output_help(false)

local function vec(v)
  return format("(%s, %s, %s)", round3(v[1]), round3(v[2]), round3(v[3]))
end

local function image_text(t)
  if not t.width then return t.format and t.format:upper() or "image of unknown format" end
  return format("%s %dx%d", (t.format or "?"):upper(), t.width, t.height)
end

local function text(ctx, info)
  local kind = info.format:upper() .. (info.version and (" " .. info.version) or "")
    .. (info.encoding and (" " .. info.encoding) or "")
  if info.container then kind = format("%s in a %s (%s)", kind, info.container, info.entry) end
  ctx:out(format("%s: %s, %d bytes\n", info.path, kind, info.bytes))
  if info.parsed == false then
    ctx:out(format("  not parsed (the header only): %s\n", info.reason))
  else
    ctx:out(format("  meshes %d, vertices %d, triangles %d, bones %d, animations %d%s\n", info.meshes, info.vertices,
      info.triangles, info.bones, info.animations, info.incomplete and " (incomplete scene)" or ""))
  end
  if info.bbox then
    local s = info.bbox.size
    ctx:out(format("  bounding box %s to %s, size %s x %s x %s\n", vec(info.bbox.min), vec(info.bbox.max),
      round3(s[1]), round3(s[2]), round3(s[3])))
  end
  for _, m in ipairs(info.materials) do
    local tex = {}
    for _, t in ipairs(m.textures) do
      local what = t.embedded and ("embedded " .. image_text(t)) or t.missing and "missing" or image_text(t)
      tex[#tex + 1] = format("%s %s (%s)", t.type, t.path, what)
    end
    ctx:out(format("  material %s%s\n", m.name or "(unnamed)", #tex > 0 and (": " .. concat(tex, ", ")) or ""))
  end
  for _, img in ipairs(info.images) do
    ctx:out(format("  image %d: %s%s\n", img.index, image_text(img), img.bytes and format(", %d bytes", img.bytes) or ""))
  end
  local yes, no = {}, {}
  for _, t in ipairs(info.takes) do
    if t.ok then yes[#yes + 1] = t.kind else no[#no + 1] = format("%s (%s)", t.kind, t.why) end
  end
  ctx:out(format("  jobs that take it: %s%s\n", #yes > 0 and concat(yes, ", ") or "none",
    #no > 0 and ("; not " .. concat(no, ", not ")) or ""))
end

local function cmd_inspect(ctx, _, pos)
  if #pos == 0 then return ctx:fail(usage_error("give a model file (GLB, OBJ or its zip, STL, FBX)")) end
  local code = EXIT.ok
  for _, path in ipairs(pos) do
    local info, err = inspection.inspect(path)
    if not info then
      err.message = path:gsub("%c", "?") .. ": " .. tostring(err.message)   -- which of the files
      code = ctx:fail(err)
    elseif ctx.json then
      local e = { event = "inspect" }
      for k, v in pairs(info) do e[k] = v end
      for _, m in ipairs(e.materials) do                -- an empty list is left out (JSON cannot tell {} from [])
        if #m.textures == 0 then m.textures = nil end
      end
      if #e.materials == 0 then e.materials = nil end
      if #e.images == 0 then e.images = nil end
      ctx:emit(e)
    else
      text(ctx, info)
    end
  end
  return code
end

return { usage = USAGE, run = cmd_inspect }
