--- hy3d.cache: generate's content-addressed result cache (the client option cache_dir): keys, entries, ls, clear.
-- The key of a request (SHA-256 of its canonical JSON), entries (0600 manifests, files stored by
-- their SHA-256 and verified before use), restoring them into the user's folder, listing, clearing.
-- Layout of a cache folder (created 0700; every file in it 0600, written to a temporary name then
-- renamed, so a concurrent writer never leaves half an entry):
--   objects/<sha256>      a result file, named by the SHA-256 of its bytes (never by a server's name)
--   entries/<key>.json    a manifest: v, key, job_id, kind, prompt (an excerpt), created, credits,
--                         files = { {type, ext, bytes, sha256}, ... } in the order generate saved them
--   index                 JSON lines { key, created }: the entries `ls` and `clear` walk
-- The key is the SHA-256 of the canonical JSON (object keys sorted, by this module's own encoder:
-- lua-cjson does not sort) of { door, base_url, site, region, kind, formats, params }: never a
-- credential. Strings longer than LONG bytes (ImageBase64, MultiViewImages' images) enter it as
-- their SHA-256, so an image counts by its bytes and an ImageUrl by its URL string.
-- Depends on hy3d.core (sha256, encode/decode, mkdir, append_private, unzip), hy3d.files and hy3d.jobs (excerpt).
local core = require "hy3d.core"
local files = require "hy3d.files"
local jobs = require "hy3d.jobs"

local concat, sort = table.concat, table.sort
local floor = math.floor
local sha256 = core.sha256

local M = {}

M.VERSION = 1          -- of the key material and of the manifests: a change misses every old entry
M.LONG = 256           -- strings longer than this enter the key as their SHA-256
local DIR_MODE, FILE_MODE = 448, 384     -- 0700, 0600

local function cache_error(code, message, cause)
  return { kind = "io", code = code, message = message, cause = cause }
end

-- ===== the key =====

-- Appends the canonical JSON of v to out; returns nil and a reason for a value JSON cannot hold.
local function canonical(v, out)
  local t = type(v)
  if t == "string" then
    if #v > M.LONG then
      out[#out + 1] = ('{"#sha256":"%s","#bytes":%d}'):format(sha256(v, "hex"), #v)
    else
      out[#out + 1] = core.encode(v)
    end
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil, "a number JSON cannot hold" end
    if v == floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then
      out[#out + 1] = ("%.0f"):format(v)
    else
      out[#out + 1] = ("%.17g"):format(v)
    end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    local n, keys = 0, {}
    for k in pairs(v) do
      n = n + 1
      local kt = type(k)
      if kt ~= "string" and kt ~= "number" then return nil, "a table key that is not a string" end
      keys[n] = k
    end
    if n > 0 and n == #v then                     -- an array: 1..n
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        local ok, why = canonical(v[i], out)
        if not ok then return nil, why end
      end
      out[#out + 1] = "]"
    else
      local names = {}
      for i, k in ipairs(keys) do names[i] = { tostring(k), k } end
      sort(names, function(a, b) return a[1] < b[1] end)
      out[#out + 1] = "{"
      for i, pair in ipairs(names) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = core.encode(pair[1])
        out[#out + 1] = ":"
        local ok, why = canonical(v[pair[2]], out)
        if not ok then return nil, why end
      end
      out[#out + 1] = "}"
    end
  elseif t == "nil" then
    out[#out + 1] = "null"
  else
    return nil, "a " .. t .. " value"
  end
  return true
end

--- The canonical JSON of a value: object keys sorted, integers without a fraction, strings longer
-- than M.LONG bytes as {"#sha256": hex, "#bytes": n}. Returns the text, or nil and why (a function,
-- NaN, a table key that is not a string).
-- @param v a JSON-able value
-- @treturn[1] string the canonical JSON
-- @treturn[2] nil
-- @treturn[2] string why it has none
function M.canonical(v)
  local out = {}
  local ok, why = canonical(v, out)
  if not ok then return nil, why end
  return concat(out)
end

--- The key of a generate request: the SHA-256 (hex) of the canonical JSON of its door, base_url,
-- site, region, kind, formats (upper case, in order) and params. Credentials never enter it.
-- Returns the key, or nil and why the request cannot be cached.
-- @tparam table req door, base_url, site, region, kind, formats, params
-- @treturn[1] string 64 hex digits
-- @treturn[2] nil
-- @treturn[2] string why
function M.key(req)
  local formats, seen = {}, {}
  for _, f in ipairs(req.formats or { "GLB" }) do
    local u = tostring(f):upper()
    if not seen[u] then seen[u] = true; formats[#formats + 1] = u end
  end                                             -- in the order asked: it orders (and so names) the files
  local text, why = M.canonical { v = M.VERSION, door = req.door or false, base_url = req.base_url or false,
    site = req.site or false, region = req.region or false, kind = req.kind or "pro", formats = formats,
    params = req.params }
  if not text then return nil, why end
  return sha256(text, "hex")
end

-- ===== files =====

local read_all = files.read_all

local counter = 0
-- A name no other writer uses at the same time: the final name plus a random tail.
local function temp_name(path)
  counter = counter + 1
  local tail = sha256(("%s %s %s %s %s"):format(path, os.time(), os.clock(), counter, tostring({})) ..
    tostring(math.random()), "hex"):sub(1, 16)
  return path .. ".tmp-" .. tail
end

-- Writes data to path as an owner-only (0600) file, atomically: a temporary name, then a rename.
local function write_private(path, data)
  local tmp = temp_name(path)
  os.remove(tmp)
  local ok, err = core.append_private(tmp, data, FILE_MODE)
  if not ok then
    os.remove(tmp)
    return nil, err
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    return nil, cache_error("CACHE_WRITE", "cannot rename into " .. path .. ": " .. tostring(rerr))
  end
  return true
end

-- Writes data to path (in the user's folder, with the usual permissions) through a temporary name.
local function write_public(path, data)
  local tmp = temp_name(path)
  local f, oerr = io.open(tmp, "wb")
  if not f then return nil, cache_error("WRITE_ERROR", "cannot write " .. tmp .. ": " .. tostring(oerr)) end
  local ok, werr = f:write(data)
  f:close()
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return nil, cache_error("WRITE_ERROR", "cannot write " .. path .. ": " .. tostring(werr))
  end
  return true
end

local function is_hex64(s)
  return type(s) == "string" and #s == 64 and s:match("^%x+$") ~= nil and s == s:lower()
end

-- ===== a cache folder =====

local Cache = {}
Cache.__index = Cache
M.Cache = Cache

--- A cache in folder `dir` (created, with its parents, on the first store: 0700). Nothing is read yet.
-- @tparam string dir the cache folder
-- @treturn table the cache
function M.new(dir)
  if type(dir) ~= "string" or dir == "" or dir:find("%c") then
    error("hy3d: cache_dir must be a folder path", 2)
  end
  return setmetatable({ dir = (dir:gsub("(.)/+$", "%1")) }, Cache)
end

function Cache:_path(...)
  return self.dir .. "/" .. concat({ ... }, "/")
end

function Cache:_ensure()
  for _, d in ipairs { self.dir, self:_path("objects"), self:_path("entries") } do
    local ok, err = files.mkdirs(d, DIR_MODE)
    if not ok then return nil, err end
  end
  return true
end

-- The manifest of key, checked field by field (a hand-edited or foreign file is a miss), or nil.
function Cache:_manifest(key)
  if not is_hex64(key) then return nil end
  local text = read_all(self:_path("entries", key .. ".json"))
  if not text then return nil end
  local ok, m = pcall(core.decode, text)
  if not ok or type(m) ~= "table" or m.v ~= M.VERSION or m.key ~= key or type(m.files) ~= "table" or #m.files == 0 then
    return nil
  end
  for _, f in ipairs(m.files) do
    if type(f) ~= "table" or not is_hex64(f.sha256) or type(f.bytes) ~= "number" or f.bytes < 0
        or files.safe_token(f.type) ~= f.type or type(f.ext) ~= "string" or not f.ext:match("^[a-z0-9]+$") or #f.ext > 8 then
      return nil
    end
  end
  return m
end

--- The entry of key with its files' bytes, each checked against the manifest's size and SHA-256.
-- Returns the manifest (files[i].data holds the bytes), or nil and "miss" (no entry) or "corrupt"
-- (a file missing, truncated or changed: the entry must be fetched again, never used).
-- @tparam string key the request's key
-- @treturn[1] table the manifest
-- @treturn[2] nil
-- @treturn[2] string "miss" or "corrupt"
function Cache:lookup(key)
  local m = self:_manifest(key)
  if not m then return nil, "miss" end
  for _, f in ipairs(m.files) do
    local data = read_all(self:_path("objects", f.sha256))
    if not data or #data ~= f.bytes or sha256(data, "hex") ~= f.sha256 then return nil, "corrupt" end
    f.data = data
  end
  return m
end

local unused = files.unused

--- Copies a looked-up entry's files into opts.dir (default ".") under the names download_files
-- gives them (opts.name, else the entry's JobId), unzipping zips with opts.extract (within
-- opts.max_bytes). Returns the list of {type, path, bytes, cached = true[, dir, entries]} or nil, err.
-- @tparam table m a manifest from lookup
-- @tparam[opt] table opts dir, name, extract, max_bytes
-- @treturn[1] table the saved files
-- @treturn[2] nil
-- @treturn[2] table err
function Cache:restore(m, opts) -- luacheck: ignore 212
  opts = opts or {}
  local dir = opts.dir or "."
  local base = opts.name or files.safe_token(m.job_id, 64) or "result"
  local ok, err = files.mkdirs(dir)
  if not ok then return nil, err end
  local out, used = {}, {}
  for _, f in ipairs(m.files) do
    local path = unused(used, dir, base, f.type, "." .. f.ext)
    ok, err = write_public(path, f.data)
    if not ok then return nil, err end
    local rec = { type = f.type, path = path, bytes = f.bytes, cached = true }
    if opts.extract and f.data:sub(1, 4) == "PK\3\4" then
      rec.dir = unused(used, dir, base, f.type, "", true)
      local names, zerr = core.unzip(path, rec.dir, { overwrite = true, max_bytes = opts.max_bytes })
      if not names then return nil, zerr end
      rec.entries = names
    end
    out[#out + 1] = rec
  end
  return out
end

--- Stores the files generate saved (a list of {type, path, url}) as the entry of key, with
-- info (job_id, kind, prompt, credits). Each file is read back, hashed and written under its
-- SHA-256 (an object already there is kept only when it checks out); the manifest goes last, so
-- an entry is never visible before its files (and its index line just before it). Returns true, or nil and err.
-- @tparam string key the request's key
-- @tparam table info job_id, kind, prompt, credits
-- @tparam table saved the files of download_files
-- @treturn[1] boolean true
-- @treturn[2] nil
-- @treturn[2] table err
function Cache:store(key, info, saved)
  if not is_hex64(key) then return nil, cache_error("CACHE_KEY", "not a cache key") end
  local ok, err = self:_ensure()
  if not ok then return nil, err end
  local list = {}
  for _, rec in ipairs(saved) do
    local data = read_all(rec.path)
    if not data then return nil, cache_error("CACHE_READ", "cannot read back " .. tostring(rec.path)) end
    local h = sha256(data, "hex")
    local obj = self:_path("objects", h)
    local have = read_all(obj)
    if not (have and #have == #data and sha256(have, "hex") == h) then
      ok, err = write_private(obj, data)
      if not ok then return nil, err end
    end
    local ext = files.extension(type(rec.url) == "string" and rec.url or "", rec.type)
    if not ext:match("^[a-z0-9]+$") or #ext > 8 then ext = "bin" end
    list[#list + 1] = { type = files.safe_token(rec.type) or "FILE", ext = ext, bytes = #data, sha256 = h }
  end
  if #list == 0 then return nil, cache_error("CACHE_EMPTY", "no files to store") end
  local created = os.time()
  local manifest = { v = M.VERSION, key = key, job_id = info.job_id, kind = info.kind,
    prompt = jobs.excerpt(info.prompt, 80), credits = type(info.credits) == "number" and info.credits or nil,
    created = created, files = list }
  local text
  text, err = core.encode(manifest)
  if not text then return nil, cache_error("CACHE_ENCODE", tostring(err)) end
  -- the index line first: a key without a manifest is skipped, a manifest never goes unlisted
  ok, err = core.append_private(self:_path("index"), core.encode { key = key, created = created } .. "\n", FILE_MODE, true)
  if not ok then return nil, err end
  return write_private(self:_path("entries", key .. ".json"), text)
end

-- The keys the index names, each once, in the order first recorded.
function Cache:_keys()
  local text = read_all(self:_path("index"))
  local keys, seen = {}, {}
  for line in (text or ""):gmatch("[^\n]+") do
    local ok, e = pcall(core.decode, line)
    if ok and type(e) == "table" and is_hex64(e.key) and not seen[e.key] then
      seen[e.key] = true
      keys[#keys + 1] = e.key
    end
  end
  return keys
end

--- The entries of the cache, oldest first: { key, job_id, kind, prompt, created, credits, bytes,
-- files = { {type, ext, bytes, sha256} } } (manifests only: files are checked when used).
-- @treturn table the entries
function Cache:list()
  local out, order = {}, {}
  for i, key in ipairs(self:_keys()) do
    local m = self:_manifest(key)
    order[key] = i
    if m then
      local bytes = 0
      for _, f in ipairs(m.files) do bytes = bytes + f.bytes end
      m.bytes = bytes
      out[#out + 1] = m
    end
  end
  sort(out, function(a, b)
    local ca, cb = tonumber(a.created) or 0, tonumber(b.created) or 0
    if ca ~= cb then return ca < cb end
    return order[a.key] < order[b.key]          -- within a second: the order they were stored in
  end)
  return out
end

--- Removes entries: all of them, or with opts.older_than (seconds) those created longer ago.
-- Files still used by a kept entry stay. Returns the number of entries removed and the bytes
-- freed, or nil and err.
-- @tparam[opt] table opts older_than
-- @treturn[1] integer entries removed
-- @treturn[1] integer bytes freed
-- @treturn[2] nil
-- @treturn[2] table err
function Cache:clear(opts)
  opts = opts or {}
  local cutoff = opts.older_than and (os.time() - opts.older_than) or nil
  local keep, drop, kept_objects = {}, {}, {}
  for _, key in ipairs(self:_keys()) do
    local m = self:_manifest(key)
    if m and cutoff and (tonumber(m.created) or 0) >= cutoff then
      keep[#keep + 1] = m
      for _, f in ipairs(m.files) do kept_objects[f.sha256] = true end
    else
      drop[#drop + 1] = { key = key, m = m }
    end
  end
  local removed, freed, gone = 0, 0, {}
  for _, d in ipairs(drop) do
    os.remove(self:_path("entries", d.key .. ".json"))
    if d.m then
      removed = removed + 1
      for _, f in ipairs(d.m.files) do
        if not kept_objects[f.sha256] and not gone[f.sha256] then
          gone[f.sha256] = true
          if os.remove(self:_path("objects", f.sha256)) then freed = freed + f.bytes end
        end
      end
    end
  end
  if #keep == 0 then
    os.remove(self:_path("index"))
  else
    local lines = {}
    for _, m in ipairs(keep) do lines[#lines + 1] = core.encode { key = m.key, created = m.created } end
    local ok, err = write_private(self:_path("index"), concat(lines, "\n") .. "\n")
    if not ok then return nil, err end
  end
  return removed, freed
end

return M
