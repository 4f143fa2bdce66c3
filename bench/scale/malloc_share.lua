-- bench/scale/malloc_share.lua — the share of a process's CPU samples spent in the C allocator
-- (glibc malloc/free/realloc and their internals), from a `perf record` file: prints one JSON
-- line {"samples_pct": ..., "top": [[symbol, pct], ...]} (bench/scale/run.sh keeps it beside the
-- 10,000-job run's figures). Usage: lua5.4 bench/scale/malloc_share.lua PERF.DATA [OUT.json]
-- Symbols counted: malloc, free (cfree), calloc, realloc, _int_malloc/_int_free/_int_realloc,
-- malloc_consolidate, unlink_chunk, sysmalloc, tcache_* — their own samples, not their callers'.
package.path = "./bench/scale/?.lua;" .. package.path
local lib = require "lib"

local data, out = assert(arg[1], "usage: malloc_share.lua PERF.DATA [OUT.json]"), arg[2]
local ALLOC = { "^malloc$", "^cfree", "^free$", "^__libc_calloc$", "^__libc_malloc$", "^__libc_free$", "^calloc$",
  "^realloc$", "^__libc_realloc$", "^_int_malloc$", "^_int_free", "^_int_realloc$", "^malloc_consolidate$",
  "^unlink_chunk", "^sysmalloc$", "^tcache_" }

local p = assert(io.popen(("perf report -i %q --no-children --sort dso,sym --stdio -q -g none 2>/dev/null"):format(data)))
local total, top = 0, {}
for line in p:lines() do
  local pct, dso, sym = line:match("^%s*([%d.]+)%%%s+(%S+)%s+%[.%]%s+(%S+)")
  if pct and dso:find("libc", 1, true) then
    for _, pat in ipairs(ALLOC) do
      if sym:find(pat) then
        total = total + tonumber(pct)
        top[#top + 1] = { sym, tonumber(pct) }
        break
      end
    end
  end
end
p:close()
table.sort(top, function(a, b) return a[2] > b[2] end)
local result = { samples_pct = lib.round(total, 1), top = top }
print(("malloc: %.1f%% of the client's CPU samples in glibc's allocator (%s)"):format(total,
  table.concat((function() local s = {} for i = 1, math.min(4, #top) do s[i] = top[i][1] .. " " .. top[i][2] .. "%" end
  return s end)(), ", ")))
lib.write_json(out, result)
