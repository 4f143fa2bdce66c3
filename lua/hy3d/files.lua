--- Local files of downloads: where a partial download lives, what a result file is called (safe
-- names from what a server says), folders, and which results are zips. No network here.
local core = require "hy3d.core"

local open = io.open

-- File extensions of the service's File3D types (reference §5.2), when the URL does not say.
local EXTENSIONS = {
  GLB = "glb", OBJ = "zip", STL = "stl", FBX = "fbx", USDZ = "usdz", MP4 = "mp4", GIF = "gif",
  IMAGE = "png", MTL = "mtl", ZIP = "zip", TEXTURE_IMAGE = "png", POSTPROCESS_OBJ = "zip",
  INITIAL_GLB = "glb",               -- the self-hosted door's untextured model
  PREVIEW = "png",                   -- a file's PreviewImageUrl (download_files' "preview" format)
}

--- Where a download to `path` keeps its partial file: beside it, named for the object (the URL
-- without its query, which changes whenever a signed URL is refreshed), so a download of
-- another object to the same path never resumes from it.
local function partial_path(url, path)
  local object = url:match("^[^?#]*")
  return ("%s.%s.part"):format(path, core.sha256(object, "hex"):sub(1, 12))
end

-- dir/name, without doubling a slash; "" and "." mean the current folder.
local function join(dir, name)
  if dir == nil or dir == "" or dir == "." then return name end
  return (dir:gsub("/+$", "")) .. "/" .. name
end

-- Creates dir and its parents (new ones with `mode`, default 0777, less the umask; existing ones
-- are left as they are). Returns true, or nil and the error of core.mkdir.
local function mkdirs(dir, mode)
  local path = dir:sub(1, 1) == "/" and "/" or ""
  for part in dir:gmatch("[^/]+") do
    path = path .. part
    local ok, err = core.mkdir(path, mode)
    if not ok then return nil, err end
    path = path .. "/"
  end
  return true
end

--- A string from a server (a result's Type, a JobId) made safe as part of a file name: ASCII
-- letters, digits, "_" and "-"; every run of other bytes (a "/", "..", a NUL, a control
-- character) becomes one "_", and "_" or "-" at either end is dropped; at most `max` bytes
-- (default 32). Never "", "." or "..": nil when nothing is left (or s is not a string).
local function safe_token(s, max)
  if type(s) ~= "string" then return nil end
  local t = s:gsub("[^A-Za-z0-9_%-]+", "_"):gsub("^[_%-]+", "")
  t = t:sub(1, max or 32):gsub("[_%-]+$", "")
  if t == "" then return nil end
  return t
end

-- The extension of a result file: the URL's own (1 to 5 ASCII letters and digits), else the
-- known one of its type, else the type's safe token in lower case, else "bin".
local function extension(url, ftype)
  local ext = url:match("^[^?#]*"):match("/[^/]*%.([A-Za-z0-9]+)$")
  if ext and #ext <= 5 then return ext:lower() end
  if EXTENSIONS[ftype] then return EXTENSIONS[ftype] end
  local token = safe_token(ftype, 8)
  return token and token:lower() or "bin"
end

-- Size of a file in bytes, or nil when it cannot be opened.
local function size(path)
  local f = open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

--- The sidecar of a partial file: the first answer's ETag / Last-Modified and the object's size
-- (written owner-only by the core), so a resume asks for that same version (If-Range) and a partial
-- file without one is started over rather than continued blindly.
local function partial_meta(part)
  return part .. ".meta"
end

-- Removes a partial file and its sidecar (either may be missing).
local function discard_partial(part)
  os.remove(part)
  os.remove(partial_meta(part))
end

-- Renames a partial file and its sidecar. Returns what os.rename returns for the partial file.
local function move_partial(from, to)
  local ok, err = os.rename(from, to)
  if ok then
    if not os.rename(partial_meta(from), partial_meta(to)) then os.remove(partial_meta(to)) end
  end
  return ok, err
end

-- Whether the file starts like a zip archive.
local function is_zip(path)
  local f = open(path, "rb")
  if not f then return false end
  local head = f:read(4)
  f:close()
  return head == "PK\3\4"
end

--- The whole content of the file at path, or nil and io.open's message.
local function read_all(path)
  local f, err = open(path, "rb")
  if not f then return nil, err end
  local data = f:read("*a")
  f:close()
  return data
end

--- A path in dir that no earlier file of this call took (`used`: a set of paths, updated), as
-- download_files names a job's files: stem.ext (unless `typed`), else stem_type.ext, else
-- stem_type_2.ext, ... (ext "" for a folder).
local function unused(used, dir, stem, ftype, ext, typed)
  local n = typed and 2 or 1
  local path = typed and join(dir, ("%s_%s%s"):format(stem, ftype:lower(), ext)) or join(dir, stem .. ext)
  while used[path] do
    n = n + 1
    path = join(dir, ("%s_%s%s%s"):format(stem, ftype:lower(), n > 2 and "_" .. (n - 1) or "", ext))
  end
  used[path] = true
  return path
end

return {
  read_all = read_all,
  unused = unused,
  partial_path = partial_path,
  join = join,
  mkdirs = mkdirs,
  extension = extension,
  safe_token = safe_token,
  size = size,
  partial_meta = partial_meta,
  discard_partial = discard_partial,
  move_partial = move_partial,
  is_zip = is_zip,
}
