-- mutate/run.lua — `make mutate`: applies each mutant of mutate/mutants.lua to a copy of the tree, runs its specs, scores.
--
-- Lua 5.4, run from the repository root by `make mutate`. Environment (the Makefile passes them):
--   MUTANTS=id1,id2   run only these mutants (the result then goes to build/mutate/MUTATION.md)
--   MUTATE_MIN=90     the lowest passing score, in percent
--   MUTATE_TIMEOUT=300  seconds one spec run may take (a run that hits it counts as killed: TIMEOUT)
--   MUTATE_OUT=path   where the report goes (default MUTATION.md for a full run)
--   MUTATE_DRY=1      only check the list: report stale entries (no build, no specs)
--   MUTATE_BASELINE=1 stop after the unmutated runs (checks that every spec set and filter passes)
--   MUTATE_MERGE=1    with MUTANTS: rerun those mutants and merge them into the last full run's
--                     results (mutate/results.lua, committed with MUTATION.md), rewriting MUTATION.md;
--                     a mutant changed since (or new) and not rerun is NOT-RUN, a list failure.
--                     Without MUTANTS: only rewrite MUTATION.md (notes and reasons edited since)
--   LUA, BUSTED, SANDBOX_LUA  the interpreters and busted, as `make test` uses them
-- Exit status: 0 when the score reaches MUTATE_MIN and no mutant is STALE or BROKEN-BASELINE.

local SCRATCH = "build/mutate"
local TREE = SCRATCH .. "/tree"
local LOGS = SCRATCH .. "/logs"

local env = {
  only = os.getenv("MUTANTS") or "",
  min = tonumber(os.getenv("MUTATE_MIN") or "") or 90,
  timeout = tonumber(os.getenv("MUTATE_TIMEOUT") or "") or 300,
  out = os.getenv("MUTATE_OUT") or "",
  lua = os.getenv("LUA") or "lua5.4",
  busted = os.getenv("BUSTED") or "/usr/bin/busted",
  sandbox_lua = os.getenv("SANDBOX_LUA") or "lua5.4",
}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function say(fmt, ...)
  io.stdout:write(fmt:format(...), "\n")
  io.stdout:flush()
end

local function die(fmt, ...)
  io.stderr:write("mutate: ", fmt:format(...), "\n")
  os.exit(2)
end

-- Runs a shell command; returns its exit code (a signal death counts as 128 + signal).
local function sh(cmd)
  local ok, how, code = os.execute(cmd)
  if ok then return 0 end
  if how == "signal" then return 128 + code end
  return code or 1
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  assert(f:close())
end

local function now()
  return os.time()
end

-- Occurrences of a plain string.
local function count(hay, needle)
  local n, at = 0, 1
  while true do
    local s, e = hay:find(needle, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end

local function is_c(file)
  return file:match("^src/.*%.[ch]$") ~= nil
end

-- ===== the list =====

local list = dofile("mutate/mutants.lua")
local seen = {}
for i, m in ipairs(list) do
  local where = ("mutate/mutants.lua: mutant #%d (%s)"):format(i, tostring(m.id))
  if type(m.id) ~= "string" or not m.id:match("^[%w%-_.]+$") then die("%s: id must be a word", where) end
  if seen[m.id] then die("%s: the id is used twice", where) end
  seen[m.id] = true
  if type(m.file) ~= "string" or type(m.from) ~= "string" or type(m.to) ~= "string" then
    die("%s: file, from and to must be strings", where)
  end
  if m.from == m.to then die("%s: from and to are the same", where) end
  if type(m.specs) ~= "table" or #m.specs == 0 then die("%s: specs must name at least one spec file", where) end
  if type(m.why) ~= "string" or m.why == "" then die("%s: why must say what bug it models", where) end
  if m.filter ~= nil and type(m.filter) ~= "string" then die("%s: filter must be a string", where) end
  if m.timeout ~= nil and (type(m.timeout) ~= "number" or m.timeout <= 0) then die("%s: timeout must be > 0", where) end
end

local merge = os.getenv("MUTATE_MERGE") == "1"
local selected = list
if merge and env.only == "" then
  selected = {}                                   -- MUTATE_MERGE=1 alone: rewrite the report, run nothing
elseif env.only ~= "" then
  selected = {}
  local byid = {}
  for _, m in ipairs(list) do byid[m.id] = m end
  for id in env.only:gmatch("[^,%s]+") do
    if not byid[id] then die("MUTANTS names %s, which mutate/mutants.lua does not have", id) end
    selected[#selected + 1] = byid[id]
  end
end
local full = env.only == "" and not merge
local out_path = env.out ~= "" and env.out or ((full or merge) and "MUTATION.md" or SCRATCH .. "/MUTATION.md")
local RESULTS = "mutate/results.lua"   -- the last full (or merged) run, for MUTATE_MERGE (committed)

-- What a result depends on: a mutant whose fingerprint changed must run again.
local function fingerprint(m)
  local h = 2166136261
  local text = table.concat({ m.file, m.from, m.to, table.concat(m.specs, " "), m.filter or "",
    tostring(m.timeout or ""), m.equivalent or "" }, "\0")
  for i = 1, #text do h = ((h ~ text:byte(i)) * 16777619) & 0xffffffff end
  return ("%08x"):format(h)
end

local base
if merge then
  local ok, t = pcall(dofile, RESULTS)
  if not ok or type(t) ~= "table" then die("MUTATE_MERGE=1: no earlier full run to merge into (%s)", RESULTS) end
  base = t
end
-- The mutants the report covers: the whole list when merging.
local reported = merge and list or selected

-- ===== stale check (against the working tree, which the scratch tree copies) =====

local pristine = {}
local function original(file)
  if pristine[file] == nil then pristine[file] = read(file) or false end
  return pristine[file]
end

local results = {}      -- id -> { outcome=, detail=, seconds= }
for _, m in ipairs(reported) do
  local text = original(m.file)
  if not text then
    results[m.id] = { outcome = "STALE", detail = "the file does not exist" }
  else
    local n = count(text, m.from)
    if n ~= 1 then
      results[m.id] = { outcome = "STALE", detail = ("`from` occurs %d times (must be once)"):format(n) }
    elseif m.equivalent then
      results[m.id] = { outcome = "EQUIVALENT", detail = m.equivalent }
    end
  end
end

if os.getenv("MUTATE_DRY") == "1" then
  local bad = 0
  for _, m in ipairs(selected) do
    local r = results[m.id]
    if r and r.outcome == "STALE" then
      bad = bad + 1
      say("STALE %s (%s): %s", m.id, m.file, r.detail)
    end
  end
  say("mutate: %d mutant(s) checked, %d stale", #selected, bad)
  os.exit(bad == 0 and 0 or 1)
end

-- ===== the scratch tree =====

local started = now()
-- As `make test` builds: the 5.4 core and the LuaJIT one (the LÖVE and install specs load it).
local function make_core(log)
  return sh(("cd %s && make -s --no-print-directory LUA=%s SANDBOX_LUA=%s all sandbox-core >> %s 2>&1"
    .. " && make -s --no-print-directory LUA_VERSION=jit all >> %s 2>&1")
    :format(q(TREE), q(env.lua), q(env.sandbox_lua), q("../logs/" .. log), q("../logs/" .. log)))
end

if #selected > 0 then
  say("mutate: %d mutant(s); copying the tracked tree to %s", #selected, TREE)
  if sh("rm -rf " .. q(TREE) .. " " .. q(LOGS) .. " && mkdir -p " .. q(TREE) .. " " .. q(LOGS)) ~= 0 then
    die("cannot make %s", TREE)
  end
  -- The working tree's version of every tracked file (uncommitted edits included; deleted ones skipped).
  if sh("git ls-files -z | xargs -0 sh -c 'for f; do [ -e \"$f\" ] && printf \"%s\\0\" \"$f\"; done' sh"
        .. " | tar --null -T - -cf - | tar -xf - -C " .. q(TREE)) ~= 0 then
    die("cannot copy the tree")
  end
  say("mutate: building the 5.4 core in %s", TREE)
  if make_core("build.log") ~= 0 then
    die("the unmutated tree does not build (see %s/build.log)", LOGS)
  end
end

-- One busted run in the scratch tree, as `make test` runs it on 5.4. Returns "pass", "fail" or
-- "timeout", and the summary line.
local function run_specs(m, log)
  local args = {}
  if m.filter then args[#args + 1] = "--filter=" .. q(m.filter) end
  for _, s in ipairs(m.specs) do args[#args + 1] = q(s) end
  local cmd = ("cd %s && timeout -k 10 %d env HY3D_CPATH='./build/?.so' HY3D_SANDBOX_LUA=%s HY3D_TEST_LUA=%s"
    .. " %s %s -o spec/support/summary.lua %s > %s 2>&1 < /dev/null")
    :format(q(TREE), math.ceil(m.timeout or env.timeout), q(env.sandbox_lua), q(env.lua), q(env.lua), q(env.busted),
      table.concat(args, " "), q("../logs/" .. log))
  local code = sh(cmd)
  local text = read(LOGS .. "/" .. log) or ""
  local summary
  for line in text:gmatch("[^\n]+") do
    if line:match("^%d+ passed, %d+ failed$") then summary = line end
  end
  if code == 124 or code == 137 then return "timeout", summary or "no summary" end
  if code == 0 then return "pass", summary or "no summary" end
  if code > 128 then return "fail", ("busted died of signal %d"):format(code - 128) end   -- a crash in the core
  return "fail", summary or ("exit " .. code)
end

local function spec_key(m)
  return table.concat(m.specs, " ") .. (m.filter and (" --filter=" .. m.filter) or "")
end

-- ===== baselines =====

local baseline = {}     -- spec_key -> "pass" | summary of the failure
local nbase = 0
for _, m in ipairs(selected) do
  local key = spec_key(m)
  if not results[m.id] and baseline[key] == nil then
    nbase = nbase + 1
    local t0 = now()
    local status, summary = run_specs(m, ("baseline-%d.log"):format(nbase))
    if status == "pass" and not summary:match("^[1-9]") then   -- "0 passed": the filter matches no test
      status, summary = "empty", summary == "no summary" and "no summary line" or "no test ran: the filter matches none"
    end
    baseline[key] = status == "pass" and "pass" or (status .. ": " .. summary)
    say("baseline %-60s %s (%s, %d s)", key:sub(1, 60), status == "pass" and "ok" or "FAILS", summary, now() - t0)
  end
end

if os.getenv("MUTATE_BASELINE") == "1" then
  local bad = 0
  for _, v in pairs(baseline) do if v ~= "pass" then bad = bad + 1 end end
  say("mutate: %d spec set(s) run unmutated, %d failing", nbase, bad)
  os.exit(bad == 0 and 0 or 1)
end

-- ===== the mutants =====

for i, m in ipairs(selected) do
  if not results[m.id] then
    local r
    if baseline[spec_key(m)] ~= "pass" then
      r = { outcome = "BROKEN-BASELINE", detail = "its specs fail unmutated: " .. baseline[spec_key(m)] }
    else
      local t0 = now()
      local path = TREE .. "/" .. m.file
      local text = original(m.file)
      local s, e = text:find(m.from, 1, true)
      write(path, text:sub(1, s - 1) .. m.to .. text:sub(e + 1))
      local log = m.id .. ".log"
      if is_c(m.file) and make_core(log) ~= 0 then
        r = { outcome = "KILLED", detail = "build failed" }
      else
        local status, summary = run_specs(m, log)
        if status == "fail" then
          r = { outcome = "KILLED", detail = "specs failed (" .. summary .. ")" }
        elseif status == "timeout" then
          r = { outcome = "TIMEOUT", detail = ("no result within %d s (counts as killed)"):format(m.timeout or env.timeout) }
        else
          r = { outcome = "SURVIVED", detail = summary }
        end
      end
      write(path, text)
      if is_c(m.file) and make_core(m.id .. ".restore.log") ~= 0 then
        die("the tree does not build again after restoring %s (see %s/%s.restore.log)", m.file, LOGS, m.id)
      end
      r.seconds = now() - t0
    end
    results[m.id] = r
    say("[%d/%d] %-16s %-36s %s%s", i, #selected, r.outcome, m.id, r.detail,
      r.seconds and (" (" .. r.seconds .. " s)") or "")
  else
    local r = results[m.id]
    say("[%d/%d] %-16s %-36s %s", i, #selected, r.outcome, m.id, r.detail)
  end
end

if merge then
  for _, m in ipairs(list) do
    if not results[m.id] then
      local old = base.results[m.id]
      if old and old.fp == fingerprint(m) then
        results[m.id] = { outcome = old.outcome, detail = old.detail, seconds = old.seconds, merged = true }
      else
        results[m.id] = { outcome = "NOT-RUN", detail = "new or changed since the full run: rerun it (MUTANTS=" .. m.id .. ")" }
      end
    end
  end
end

-- ===== score and report =====

local n = { KILLED = 0, TIMEOUT = 0, SURVIVED = 0, EQUIVALENT = 0, STALE = 0, ["BROKEN-BASELINE"] = 0, ["NOT-RUN"] = 0 }
local survivors, failures = {}, {}
for _, m in ipairs(reported) do
  local o = results[m.id].outcome
  n[o] = n[o] + 1
  if o == "SURVIVED" then survivors[#survivors + 1] = m end
  if o == "STALE" or o == "BROKEN-BASELINE" or o == "NOT-RUN" then failures[#failures + 1] = m end
end
local killed = n.KILLED + n.TIMEOUT
local scored = #reported - n.EQUIVALENT - #failures
local score = scored > 0 and 100 * killed / scored or 0
local line = ("%d mutants: %d killed (%d by timeout), %d survived, %d equivalent, %d stale, %d broken baseline"
  .. "%s — score %.1f%%"):format(#reported, killed, n.TIMEOUT, n.SURVIVED, n.EQUIVALENT, n.STALE,
  n["BROKEN-BASELINE"], merge and (", " .. n["NOT-RUN"] .. " not run") or "", score)

say("")
say("%s", line)
if #survivors > 0 then
  say("survivors:")
  for _, m in ipairs(survivors) do say("  %s (%s): %s", m.id, m.file, m.why) end
end
for _, m in ipairs(failures) do say("%s %s (%s): %s", results[m.id].outcome, m.id, m.file, results[m.id].detail) end

local function cell(s)
  return (tostring(s):gsub("|", "\\|"):gsub("\n", " "))
end

local function code_cell(s)
  s = tostring(s):gsub("\n", "⏎")
  if #s > 60 then s = s:sub(1, 57) .. "..." end
  return "`" .. s:gsub("`", "'"):gsub("|", "\\|") .. "`"
end

local commit = io.popen("git rev-parse --short HEAD 2>/dev/null"):read("l") or "?"
local dirty = io.popen("git status --porcelain --untracked-files=no 2>/dev/null"):read("a") or ""
local this_run = ("%s: %s at %s%s, %d s"):format(os.date("!%Y-%m-%d %H:%M UTC"),
  full and "the full list" or ("MUTANTS=" .. env.only), commit, dirty ~= "" and " (with uncommitted changes)" or "",
  now() - started)
local runs = {}
if merge then for _, r in ipairs(base.runs or {}) do runs[#runs + 1] = r end end
if #selected > 0 then runs[#runs + 1] = this_run end

local md = {}
local function add(s) md[#md + 1] = s end
add("# hy3d mutation testing")
add("")
if #runs == 1 then
  add(("Written by `make mutate` (mutate/run.lua) on %s."):format(this_run))
else
  add("Written by `make mutate` (mutate/run.lua): a full run and the reruns merged into it (MUTATE_MERGE=1), "
    .. "each mutant's latest result:")
  add("")
  for _, r in ipairs(runs) do add("- " .. r) end
  add("")
end
add("Each mutant is one small edit of one file (mutate/mutants.lua); its specs run against it on Lua 5.4, "
  .. "and it is killed when they fail (or the core no longer builds, or they time out).")
add("")
add("## Score")
add("")
add("**" .. line .. "**")
add("")
add(("Score = killed / (mutants − equivalent − stale − broken baseline − not run). Passing: ≥ %g%%, and no "
  .. "stale, broken-baseline or not-run mutant."):format(env.min))
add("")
add("## Survivors")
add("")
if #survivors == 0 then add("None.") end
for _, m in ipairs(survivors) do
  add(("- **%s** (`%s`%s): %s"):format(m.id, m.file, m.area and (", area " .. m.area) or "", cell(m.why)))
  if m.note then add("  " .. cell(m.note)) end
end
if #failures > 0 then
  add("")
  add("## List failures")
  add("")
  for _, m in ipairs(failures) do
    add(("- %s **%s** (`%s`): %s"):format(results[m.id].outcome, m.id, m.file, cell(results[m.id].detail)))
  end
end
add("")
add("## Equivalent mutants")
add("")
if n.EQUIVALENT == 0 then add("None.") end
for _, m in ipairs(reported) do
  if results[m.id].outcome == "EQUIVALENT" then add(("- **%s** (`%s`): %s"):format(m.id, m.file, cell(m.equivalent))) end
end
add("")
add("## Every mutant")
add("")
add("| id | file | from | to | specs | outcome | detail |")
add("|---|---|---|---|---|---|---|")
for _, m in ipairs(reported) do
  local r = results[m.id]
  local specs = table.concat(m.specs, " "):gsub("spec/", "")
  if m.filter then specs = specs .. " (" .. m.filter .. ")" end
  add(("| %s | %s | %s | %s | %s | %s | %s%s |"):format(m.id, m.file, code_cell(m.from), code_cell(m.to), cell(specs),
    r.outcome, cell(r.detail), r.seconds and (", " .. r.seconds .. " s") or ""))
end
write(out_path, table.concat(md, "\n") .. "\n")
say("mutate: wrote %s (logs in %s)", out_path, LOGS)

-- The results, for a later MUTATE_MERGE=1 (only a full or merged run is a base to merge into).
if full or merge then
  local out = { "-- mutate/results.lua — written by `make mutate` (mutate/run.lua): the last full or merged run, "
    .. "for MUTATE_MERGE=1.", "return {", "  runs = {" }
  for _, r in ipairs(runs) do out[#out + 1] = ("    %q,"):format(r) end
  out[#out + 1] = "  },"
  out[#out + 1] = "  results = {"
  for _, m in ipairs(reported) do
    local r = results[m.id]
    -- a list failure is not a result: kept, it would stand for the mutant in the next merge
    if r.outcome ~= "STALE" and r.outcome ~= "BROKEN-BASELINE" and r.outcome ~= "NOT-RUN" then
      out[#out + 1] = ("    [%q] = { outcome = %q, detail = %q, seconds = %s, fp = %q },"):format(m.id, r.outcome,
        tostring(r.detail), r.seconds and tostring(r.seconds) or "nil", fingerprint(m))
    end
  end
  out[#out + 1] = "  },"
  out[#out + 1] = "}"
  write(RESULTS, table.concat(out, "\n") .. "\n")
end

local pass = score >= env.min and #failures == 0
if not pass then
  say("mutate: FAILED (%s)", #failures > 0 and "the list has stale, broken-baseline or not-run mutants"
    or ("score below MUTATE_MIN=" .. env.min .. "%"))
end
os.exit(pass and 0 or 1)
