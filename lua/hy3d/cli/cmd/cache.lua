--- hy3d.cli.cmd.cache: `hy3d cache ls|clear` (hy3d.cache in --cache DIR or HY3D_CACHE_DIR), generate's cache report.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local cache = require "hy3d.cache"
local errors = require "hy3d.error"
local jobs = require "hy3d.jobs"
local args = require "hy3d.cli.args"
local exit = require "hy3d.cli.exit"
local output = require "hy3d.cli.output"

local concat = table.concat
local floor = math.floor
local EXIT, usage_error = exit.EXIT, exit.usage_error
local number_option, output_help = args.number_option, args.output_help
local human_bytes = output.human_bytes

local USAGE = [[
usage: hy3d cache ls [options]
       hy3d cache clear [--older-than DAYS] [options]

The result cache: with --cache DIR (or HY3D_CACHE_DIR), `hy3d generate` answers a request
identical to an earlier one (same door, URL, kind, formats, parameters and image bytes) from
DIR with no request and no credits. Files are checked (size and SHA-256) before use; a damaged
entry is fetched again.

  ls                     the entries, oldest first: key, kind, age, files, size, prompt
  clear                  remove every entry
  --older-than DAYS      with clear: only entries made more than DAYS days ago
  --cache DIR            the cache folder (default HY3D_CACHE_DIR)
]] .. "\n" .. output_help(false)

local function age(seconds)
  if seconds < 60 then return "now" end
  if seconds < 3600 then return ("%d min"):format(floor(seconds / 60)) end
  if seconds < 86400 then return ("%d h"):format(floor(seconds / 3600)) end
  return ("%d d"):format(floor(seconds / 86400))
end

local function types_of(m)
  local t = {}
  for _, f in ipairs(m.files) do t[#t + 1] = f.type end
  return concat(t, ",")
end

local function cmd_ls(ctx, store)
  local list = store:list()
  local t = os.time()
  if ctx.json then
    for _, m in ipairs(list) do
      local fl = {}
      for i, f in ipairs(m.files) do fl[i] = { type = f.type, bytes = f.bytes, sha256 = f.sha256 } end
      ctx:emit { event = "cache_entry", key = m.key, job_id = m.job_id, kind = m.kind, prompt = m.prompt,
                 created = m.created, age = math.max(0, t - (tonumber(m.created) or t)), bytes = m.bytes, files = fl }
    end
    return EXIT.ok
  end
  if #list == 0 then
    ctx:note("the cache in " .. store.dir .. " is empty")
    return EXIT.ok
  end
  local rows = { { "KEY", "KIND", "AGE", "FILES", "SIZE", "PROMPT" } }
  for _, m in ipairs(list) do
    local prompt = m.prompt and jobs.excerpt(m.prompt, 40) or "-"
    if prompt ~= (m.prompt or "-") then prompt = prompt .. "..." end
    rows[#rows + 1] = { m.key:sub(1, 12), tostring(m.kind or "-"), age(math.max(0, t - (tonumber(m.created) or t))),
                        types_of(m), human_bytes(m.bytes), prompt }
  end
  ctx:out(output.columns(rows))
  return EXIT.ok
end

local function cmd_clear(ctx, store, o)
  local removed, freed = store:clear { older_than = o.older_than and o.older_than * 86400 or nil }
  if not removed then
    return ctx:fail(errors.new { kind = "io", code = "CACHE_CLEAR", message = "cannot clear the cache in " .. store.dir
      .. ": " .. errors.text(freed) })
  end
  if ctx.json then
    ctx:emit { event = "cache_cleared", dir = store.dir, removed = removed, bytes = freed }
  else
    ctx:out(("removed %d entr%s (%s) from %s\n"):format(removed, removed == 1 and "y" or "ies", human_bytes(freed),
      store.dir))
  end
  return EXIT.ok
end

local function cmd_cache(ctx, o, pos)
  local verb = pos[1]
  if #pos ~= 1 or (verb ~= "ls" and verb ~= "clear") then
    return ctx:fail(usage_error("needs one of ls or clear"))
  end
  local ok, err = number_option(o, "older_than", "--older-than", 0)
  if not ok then return ctx:fail(err) end
  if o.older_than and verb ~= "clear" then return ctx:fail(usage_error("--older-than goes with clear")) end
  local dir = o.cache or ctx.getenv("HY3D_CACHE_DIR")
  if dir == nil or not dir:match("%S") then
    return ctx:fail(usage_error("give the cache folder: --cache DIR, or set HY3D_CACHE_DIR"))
  end
  if dir:find("%c") then return ctx:fail(usage_error("the cache folder's name holds control characters")) end
  local store = cache.new(dir)
  if verb == "ls" then return cmd_ls(ctx, store) end
  return cmd_clear(ctx, store, o)
end

-- What generate says of its cache: a hit (no request was sent), an entry repaired, or a cache it
-- could not write (the files are saved all the same).
local function report(ctx, res)
  if res.cached then
    if ctx.json then
      ctx:emit { event = "cached", job_id = res.job and res.job.JobId, key = res.key }
    else
      ctx:note(("from the cache (job %s, key %s): no request sent, no credits"):format(
        tostring(res.job and res.job.JobId), tostring(res.key):sub(1, 12)))
    end
  elseif res.cache_repaired then
    ctx:note("the cache entry was damaged: fetched again and repaired")
  end
  if res.cache_error then ctx:warn("the result cache: " .. errors.text(res.cache_error)) end
end

return { usage = USAGE, run = cmd_cache, report = report }
