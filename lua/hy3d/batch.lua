--- hy3d.batch: many jobs from one list (hy3d.batch): names, a private journal of JobIds, a worker pool within the
-- concurrency, resume without a second submit, and the summary. Also the batch file parser (prompts, JSON lines, CSV).
-- Every line is checked before anything is sent: one bad line submits nothing. The journal (<dir>/.hy3d-batch.jsonl,
-- 0600) gets each JobId before its job is waited for, keyed by a hash of the line's kind, params and explicit name;
-- a run with the same list waits for jobs the journal holds and skips those whose files are present and whole.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local chain = require "hy3d.chain"
local core = require "hy3d.core"
local credits = require "hy3d.credits"
local errors = require "hy3d.error"
local families = require "hy3d.families"
local files = require "hy3d.files"
local scheduler = require "hy3d.scheduler"
local validate = require "hy3d.validate"

local now = core.now
local concat, sort = table.concat, table.sort

local PRIVATE_FILE = 384              -- 0600: the journal
local JOURNAL = ".hy3d-batch.jsonl"
local DEFAULT_CONCURRENCY = { pro = 3 }   -- the service's default per family (reference §8): pro 3, others 1

local M = { JOURNAL = JOURNAL }

--- The concurrency of a family's batch by default: the service's default for it (pro 3, others 1).
-- @tparam string kind the job family
-- @treturn integer jobs at once
function M.default_concurrency(kind)
  return DEFAULT_CONCURRENCY[kind] or 1
end

local function invalid(code, message, fields)
  local t = { kind = "invalid", code = code, message = message }
  for k, v in pairs(fields or {}) do t[k] = v end
  return errors.new(t)
end

-- ===== the batch file =====

-- One CSV record of a line (RFC 4180 quoting, "" for a quote; no line breaks inside a field).
local function csv_fields(line)
  local out, i, n = {}, 1, #line
  while true do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "a quoted field is not closed" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      out[#out + 1] = concat(buf)
      local c = line:sub(i, i)
      if c == "," then i = i + 1 elseif i > n then return out else return nil, "text after a quoted field" end
    else
      local c = line:find(",", i, true)
      if not c then
        out[#out + 1] = line:sub(i)
        return out
      end
      out[#out + 1] = line:sub(i, c - 1)
      i = c + 1
    end
  end
end

-- A cell read like --param: JSON when it decodes to a number, boolean or table, else the text.
local function cell_value(s)
  local ok, v = pcall(core.decode, s)
  if ok and (type(v) == "number" or type(v) == "boolean" or type(v) == "table") then return v end
  return s
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- Parses a batch file's text: one prompt per line, or one JSON object of API fields per line ("name" optional),
-- or CSV with a header row name,prompt[,options][,more columns]. Blank lines and lines starting with # are
-- skipped. Returns the list of { name =, params =, line = } or nil and an invalid error (code BATCH_LINE,
-- err.line) naming the first bad line.
-- @tparam string text the file's contents
-- @treturn[1] table the items
-- @treturn[2] nil
-- @treturn[2] Error err
function M.parse(text)
  if type(text) ~= "string" then error("hy3d.batch.parse: expects the file's text", 2) end
  local items, header, n = {}, nil, 0
  local function bad(lineno, why)
    return nil, invalid("BATCH_LINE", ("line %d: %s"):format(lineno, why), { line = lineno })
  end
  for raw in (text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local line = trim(raw)
    if n == 1 then line = line:gsub("^\239\187\191", "") end         -- a UTF-8 byte order mark
    if line ~= "" and line:sub(1, 1) ~= "#" then
      if #items == 0 and not header and line:lower():match("^name%s*,%s*prompt") then
        local cols, why = csv_fields(line)
        if not cols then return bad(n, why) end
        header = {}
        for i, c in ipairs(cols) do header[i] = trim(c) end
        header[1], header[2] = "name", "prompt"
      elseif header then
        local cols, why = csv_fields(line)
        if not cols then return bad(n, "CSV: " .. why) end
        if #cols > #header then return bad(n, ("CSV: %d fields, the header has %d"):format(#cols, #header)) end
        local params, name = {}, trim(cols[1] or "")
        if trim(cols[2] or "") ~= "" then params.Prompt = cols[2] end
        for i = 3, #cols do
          local col, v = header[i], trim(cols[i])
          if v ~= "" then
            if col:lower() == "options" then
              local ok, t = pcall(core.decode, v)
              if not ok or type(t) ~= "table" or t[1] ~= nil then return bad(n, "CSV: options is not a JSON object") end
              for k, x in pairs(t) do params[k] = x end
            elseif col == "" then
              return bad(n, ("CSV: column %d has no name in the header"):format(i))
            else
              params[col] = cell_value(v)
            end
          end
        end
        if next(params) == nil then return bad(n, "CSV: no prompt and no options") end
        items[#items + 1] = { name = name ~= "" and name or nil, params = params, line = n }
      elseif line:sub(1, 1) == "{" then
        local ok, t = pcall(core.decode, line)
        if not ok or type(t) ~= "table" then return bad(n, "not a JSON object (a line starting with { is read as JSON)") end
        local name = t.name
        if name ~= nil and type(name) ~= "string" then return bad(n, "\"name\" must be a string") end
        t.name = nil
        if next(t) == nil then return bad(n, "a JSON line needs API fields, such as Prompt") end
        for k in pairs(t) do
          if type(k) ~= "string" then return bad(n, "not a JSON object (a list)") end
        end
        items[#items + 1] = { name = name, params = t, line = n }
      else
        items[#items + 1] = { params = { Prompt = line }, line = n }
      end
    end
  end
  if #items == 0 then return nil, invalid("BATCH_EMPTY", "the batch has no jobs (only blank lines and # comments)") end
  return items
end

-- ===== names and keys =====

-- JSON with sorted keys: the same params always hash the same.
local function canonical(v)
  if type(v) ~= "table" then return core.encode(v) end
  if v[1] ~= nil or next(v) == nil then
    local out = {}
    for i = 1, #v do out[i] = canonical(v[i]) end
    if #out == 0 and next(v) ~= nil then return "{}" end
    return "[" .. concat(out, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  sort(keys)
  local out = {}
  for i, k in ipairs(keys) do out[i] = core.encode(k) .. ":" .. canonical(v[k]) end
  return "{" .. concat(out, ",") .. "}"
end

-- A name for a file: lower-case letters, digits, "_" and "-", never a path; and whether it is generic or cut
-- (nothing left of the text, or longer than 48): such a name gets a short hash suffix.
local function clean_name(s)
  if type(s) ~= "string" then return nil end
  local t = files.safe_token(s:lower(), 48)
  return t, t and #(files.safe_token(s:lower(), 4096) or "") > 48
end

-- The list as items { name, params, line, key }; nil, err for a bad entry. A line's key is the hash of its kind,
-- fields and explicit name (and, for identical lines, which of them it is): never its position nor other lines.
-- `state` (the journal): a line whose key it knows keeps the name it recorded; new lines get names that no
-- journal entry and no other line uses.
local function normalize(list, kind, state)
  if type(list) ~= "table" then error("hy3d.batch: expects a list of prompts or { name =, params = } tables", 3) end
  state = state or {}
  local out, journaled, used, seen = {}, {}, {}, {}
  for _, s in pairs(state) do
    if s.name then journaled[s.name] = true end
  end
  for i, e in ipairs(list) do
    local item = type(e) == "string" and { params = { Prompt = e } } or e
    if type(item) ~= "table" then
      return nil, invalid("BATCH_ITEM", ("entry %d is a %s, not a prompt or a table"):format(i, type(e)), { index = i })
    end
    local params = item.params
    if type(params) == "string" then params = { Prompt = params } end
    if type(params) ~= "table" or next(params) == nil then
      return nil, invalid("BATCH_ITEM", ("entry %d has no params (a table of API fields)"):format(i), { index = i })
    end
    if item.name ~= nil and type(item.name) ~= "string" then
      return nil, invalid("BATCH_ITEM", ("entry %d: name must be a string"):format(i), { index = i })
    end
    local hash = core.sha256(canonical { kind = kind, params = params }, "hex"):sub(1, 16)
    local explicit = clean_name(item.name)
    local key = explicit and (explicit .. "=" .. hash) or hash
    seen[key] = (seen[key] or 0) + 1
    if seen[key] > 1 then key = key .. "#" .. seen[key] end
    out[i] = { params = params, line = item.line or i, index = i, key = key, hash = hash, explicit = explicit }
  end
  for _, it in ipairs(out) do                     -- first the names the journal recorded (its folders)
    local s = state[it.key]
    if s and s.name and not used[s.name] then it.name, used[s.name] = s.name, true end
  end
  -- then the lines' own names (kept unless another line holds it), then names made from prompts (never one
  -- the journal knows: that folder is another line's)
  for pass = 1, 2 do
    for _, it in ipairs(out) do
      if not it.name and (pass == 2 or it.explicit) then
        local base = it.explicit
        if not base then
          local cut
          base, cut = clean_name(it.params.Prompt)
          if not base or cut then base = (base or "job") .. "-" .. it.hash:sub(1, 6) end
        end
        local name, k = base, 1
        while used[name] or (not it.explicit and journaled[name]) do
          k = k + 1
          name = base .. "-" .. k
        end
        it.name, used[name] = name, true
      end
    end
  end
  if #out == 0 then return nil, invalid("BATCH_EMPTY", "the batch has no jobs") end
  return out
end

-- ===== the journal =====

local function journal_read(path)
  local state = {}
  local f = io.open(path, "rb")
  local read_ok, all = pcall(function() return f and f:read("*a") end)
  if f then f:close() end
  if not read_ok or type(all) ~= "string" then return state end   -- none yet, or not a file: its write says why
  for text in all:gmatch("[^\n]+") do
    local ok, e = pcall(core.decode, text)
    if ok and type(e) == "table" and type(e.key) == "string" and type(e.event) == "string" then
      local s = state[e.key] or {}
      state[e.key] = s
      if type(e.name) == "string" and e.name ~= "" then s.name = e.name end
      local step = type(e.step) == "number" and e.step >= 1 and e.step <= 16 and math.floor(e.step) or nil
      if e.event:sub(1, 5) == "then_" then       -- a chained step of the line (--then): its own JobId and state
        if step then
          s.steps = s.steps or {}
          local st = s.steps[step] or {}
          s.steps[step] = st
          if e.event == "then_submitted" then
            st.job_id, st.status, st.kind = validate.job_id(e.job_id), "submitted", e.kind
          elseif e.event == "then_done" then
            st.status, st.files, st.credits = "done", type(e.files) == "table" and e.files or {}, tonumber(e.credits)
            st.job_id = validate.job_id(e.job_id) or st.job_id
          elseif e.event == "then_failed" and e.job_failed == true then
            st.job_id, st.status = nil, "failed"     -- the chained job FAILed: the next run submits it again
          end
        end
      else
        if e.job_id ~= nil then s.job_id = validate.job_id(e.job_id) end
        if e.event == "submitted" then s.status, s.files, s.steps = "submitted", nil, nil
        elseif e.event == "done" then
          s.status, s.files, s.credits = "done", type(e.files) == "table" and e.files or {}, tonumber(e.credits)
        elseif e.event == "failed" then s.status, s.code, s.resubmit = "failed", e.code, e.job_failed == true end
      end
    end
  end
  local old = {}                                  -- an older journal keyed a line "name:hash" (name by position)
  for key, s in pairs(state) do
    local name, hash = key:match("^(.+):(%x+)$")
    if name and #hash == 16 then
      s.name = s.name or name
      old[hash] = old[hash] or s
      old[name .. "=" .. hash] = s
    end
  end
  for key, s in pairs(old) do
    if not state[key] then state[key] = s end
  end
  return state
end

local function journal_write(path, entry)
  if not path then return true end
  local line = core.encode(entry)
  return core.append_private(path, line .. "\n", PRIVATE_FILE, true)
end

-- Whether every file a done line recorded is there with its size.
local function files_whole(list)
  if type(list) ~= "table" or #list == 0 then return false end
  for _, f in ipairs(list) do
    if type(f) ~= "table" or type(f.path) ~= "string" then return false end
    if f.dir then
      local d = io.open(f.dir)
      if not d then return false end
      d:close()
    elseif files.size(f.path) ~= f.bytes then
      return false
    end
  end
  return true
end

-- ===== running =====

-- A user's callback: true and what it returned, or nil and a callback error for what it raised (Ctrl-C's
-- "interrupted!" goes on up).
local function call_back(code, fn, ...)
  local ok, a, b = pcall(fn, ...)
  if ok then return true, a, b end
  if tostring(a):find("interrupted!", 1, true) then error(a, 0) end
  return nil, errors.new { kind = "callback", code = code, message = code:lower() .. " raised: " .. tostring(a) }
end

-- Pauses the calling task (or pumps, outside one) a moment.
local function pause(seconds)
  if scheduler.current() then
    coroutine.yield(scheduler.TOKEN, nil, scheduler.now() + seconds)
  else
    scheduler.pump_step(seconds)
  end
end

--- Runs every entry of `list` (prompt strings, or { name =, params = } with params a table of API fields or a
-- prompt) as a job of opts.kind (default "pro") on opts.client, at most opts.concurrency at once (default the
-- family's: pro 3, others 1; never more than the client's max_concurrent_jobs), and downloads each job's files
-- into <dir>/<name>/. Every line is checked before anything is sent. opts: client (required), dir (default "."),
-- kind, formats (default the family's), journal (a path, default <dir>/.hy3d-batch.jsonl; false: none),
-- concurrency, interval and timeout (each job's wait), download_timeout (each file's download, seconds), extract,
-- on_event(event) (submitted, resumed, skipped,
-- done, failed: { event, name, line, key, job_id, code, message, files, credits }), after(item, result, files)
-- (called when a job is done: the seam of a post-processing chain), before_submit(item) (return nil, err to
-- refuse a submit: the seam of a budget), cached(item) (return a list of saved files { type, path, bytes } to
-- count the entry done with no request: the seam of a result cache; by default the client's cache_dir serves
-- and stores each line unless opts.cache is false), then (a list of chain kinds or verbs, "rig", "topology,rig":
-- each line's model is followed by those steps, hy3d.chain.run_then, their files next to the model as
-- NAME_<kind>.<ext>, each chained JobId in the journal before it is waited for, so a resumed run waits for it
-- instead of submitting it again), then_params (a table by kind or verb of each step's params), dry_run (nothing
-- sent: returns { dry_run = true, total, credits, plans = { { name, line, plan, steps, credits, error } } }).
-- With the client's max_credits, the jobs a resumed run finds done (or in flight) in the journal count against
-- the budget first (client:credits_add), and a line whose model and chained steps would not fit what is left
-- fails OVER_BUDGET with nothing sent for it (the others go on when they fit). Returns the summary { total, done,
-- failed, skipped, resumed, cached, credits, chained, chained_credits, elapsed, jobs = { { name, line, status,
-- job_id, code, message, files, credits, steps }, ... } } or nil, err.
-- @tparam table list the entries
-- @tparam table opts client, dir, kind, formats, journal, concurrency, interval, timeout, download_timeout, extract,
-- on_event,
-- after, before_submit, cached, cache, then, then_params, dry_run
-- @treturn[1] table the summary
-- @treturn[2] nil
-- @treturn[2] Error err
local OPTIONS = { client = "table", dir = "string", kind = "string", formats = "table", journal = "string",
                  concurrency = "number", interval = "number", timeout = "number", download_timeout = "number",
                  extract = "boolean",
                  on_event = "function", after = "function", before_submit = "function",
                  cached = "function", cache = "boolean", ["then"] = "table", then_params = "table",
                  dry_run = "boolean" }

function M.run(list, opts)
  if type(opts) ~= "table" or type(opts.client) ~= "table" then error("hy3d.batch: opts.client is required", 2) end
  for key, v in pairs(opts) do
    local want = OPTIONS[key]
    if not want then error(("hy3d.batch: unknown option %s"):format(tostring(key)), 2) end
    if type(v) ~= want and not (key == "journal" and v == false) then
      error(("hy3d.batch: %s must be a %s%s"):format(key, want, key == "journal" and " or false" or ""), 2)
    end
  end
  local client, kind = opts.client, opts.kind or "pro"
  if type(kind) ~= "string" then error("hy3d.batch: kind must be a string", 2) end
  for _, f in ipairs(opts.formats or {}) do
    if type(f) ~= "string" then error("hy3d.batch: formats must be a list of strings", 2) end
  end
  local c = opts.concurrency
  if c ~= nil and (type(c) ~= "number" or c < 1 or c ~= math.floor(c)) then
    error("hy3d.batch: concurrency must be a whole number >= 1", 2)
  end
  local dir = opts.dir or "."
  local journal = opts.journal
  if journal == nil then journal = files.join(dir, JOURNAL) end
  local state = journal and journal_read(journal) or {}     -- read only: the names it recorded stay theirs
  local items, err = normalize(list, kind, state)
  if not items then return nil, err end
  local formats = opts.formats or families.default_formats(kind)
  for _, it in ipairs(items) do                   -- every line checked before anything is sent
    local params, cerr = client:check(it.params, { kind = kind, formats = formats })
    if not params then
      if cerr.code ~= "NO_CREDENTIALS" then       -- the line at fault (no credentials: none is)
        cerr.message = ("line %d (%s): %s"):format(it.line, it.name, tostring(cerr.message))
        cerr.line = it.line
      end
      return nil, cerr
    end
    it.send = params
  end
  local then_kinds = {}
  for _, word in ipairs(opts["then"] or {}) do
    for w in tostring(word):gmatch("[^,%s]+") do
      local tk = chain.kind_of(w)
      if not tk then
        return nil, invalid("UNKNOWN_CHAIN_KIND", ("then: cannot chain a %s job (rig, topology, uv, texture, part, "
          .. "motion, convert)"):format(files.safe_token(w, 32) or "?"))
      end
      then_kinds[#then_kinds + 1] = tk
    end
  end
  for _, tk in ipairs(then_kinds) do              -- a step this door cannot run: refused before any model is paid for
    local offered, oerr = chain.offered(client, tk)
    if not offered then return nil, oerr end
  end
  if #then_kinds > 0 then                         -- each step's params and a file the model makes that it takes
    for _, it in ipairs(items) do
      local fine, perr = chain.precheck(client, then_kinds, opts.then_params, kind, it.send)
      if not fine then
        if perr.code == "NO_INPUT_FILE" then      -- this line's model (its ResultFormat) is at fault
          perr.message = ("line %d (%s): %s"):format(it.line, it.name, tostring(perr.message))
          perr.batch_line = it.line
        end
        return nil, perr
      end
    end
  end
  local function step_estimate(tk)
    local p = opts.then_params and opts.then_params[tk] or nil
    if p == nil and opts.then_params then
      for verb, vk in pairs(chain.verbs) do
        if vk == tk and opts.then_params[verb] then p = opts.then_params[verb] end
      end
    end
    return (credits.estimate(type(p) == "table" and p or {}, { kind = tk, door = client.door }))
  end
  if opts.dry_run then                            -- every line's plan and estimate; nothing sent, nothing made
    local plans, total = {}, 0
    for _, it in ipairs(items) do
      local entry = { name = it.name, line = it.line }
      local plan, perr = client:submit(it.send, { kind = kind, dry_run = true })
      if plan then
        entry.plan, entry.credits = plan, plan.credits
      else
        entry.error = perr
      end
      entry.steps = {}
      for i, tk in ipairs(then_kinds) do
        local est = step_estimate(tk)
        entry.steps[i] = { kind = tk, credits = est }
        if est and entry.credits then entry.credits = entry.credits + est end
      end
      if entry.credits then total = total + entry.credits end
      plans[#plans + 1] = entry
    end
    return { dry_run = true, total = #items, credits = total, plans = plans, kind = kind, ["then"] = then_kinds }
  end
  local made, dir_err = files.mkdirs(dir)           -- before any submit: nothing paid for that cannot be saved
  if not made then return nil, errors.new(dir_err) end
  if journal then
    local jdir = journal:match("^(.*)/[^/]*$")
    if jdir and jdir ~= "" then
      local ok, merr = files.mkdirs(jdir)
      if not ok then return nil, errors.new(merr) end
    end
  end
  if journal then                                 -- a journal that cannot be written stops the batch before any submit
    local ok, jerr = core.append_private(journal, "", PRIVATE_FILE)
    if not ok then return nil, errors.new(jerr) end
  end
  for _, it in ipairs(items) do                   -- the client's result cache (cache_dir), unless opts.cache is false
    if opts.cache ~= false and not opts.cached then
      it.cache_key = client:cache_key(it.send, { kind = kind, formats = opts.formats })
    end
  end
  -- a resumed run: what the journal says was spent (or is in flight) counts against max_credits first
  for _, it in ipairs(items) do
    local st = state[it.key]
    if st and st.job_id then
      if st.status == "done" then
        if st.credits then client:credits_add(st.job_id, st.credits) end
      elseif not (st.status == "failed" and st.resubmit) then
        local est = credits.estimate(it.send, { kind = kind, door = client.door })
        if est then client:credits_add(st.job_id, est, true) end
      end
    end
    for i, step in pairs(st and st.steps or {}) do
      if step.job_id and step.status == "done" and step.credits then client:credits_add(step.job_id, step.credits)
      elseif step.job_id and step.status == "submitted" and then_kinds[i] then
        local est = step_estimate(then_kinds[i])
        if est then client:credits_add(step.job_id, est, true) end
      end
    end
  end
  local function chain_whole(st)
    for i = 1, #then_kinds do
      local step = st and st.steps and st.steps[i]
      if not (step and step.status == "done" and files_whole(step.files)) then return false end
    end
    return true
  end
  local limit = c or M.default_concurrency(kind)
  if client.max_concurrent_jobs and client.max_concurrent_jobs < limit then limit = client.max_concurrent_jobs end
  local t0 = now()
  local summary = { total = #items, done = 0, failed = 0, skipped = 0, resumed = 0, jobs = {} }
  if #then_kinds > 0 then summary.chained, summary.chained_credits = 0, 0 end
  local function event(e)
    if not opts.on_event then return end
    local ok, cerr = call_back("ON_EVENT", opts.on_event, e)
    if not ok then                                -- the jobs go on; the summary says what the callback raised
      summary.callback_errors = summary.callback_errors or {}
      summary.callback_errors[#summary.callback_errors + 1] = cerr
    end
  end
  -- in-flight jobs first: they hold the service's slots, so the pool counts them before any new submit
  local order, later = {}, {}
  for _, it in ipairs(items) do
    local s = state[it.key]
    local job = { name = it.name, line = it.line, status = "pending" }
    summary.jobs[it.index] = job
    it.job = job
    if s and s.status == "done" and files_whole(s.files) and not chain_whole(s) then
      job.job_id, job.files, job.credits = s.job_id, s.files, s.credits
      it.chain_only = true                        -- the model is there; its chained steps are not all
      order[#order + 1] = it
    elseif s and s.status == "done" and files_whole(s.files) then
      job.status, job.job_id, job.files, job.skipped = "done", s.job_id, s.files, true
      summary.done, summary.skipped = summary.done + 1, summary.skipped + 1
      event { event = "skipped", name = it.name, line = it.line, key = it.key, job_id = s.job_id, files = s.files }
    elseif s and s.job_id and not (s.status == "failed" and s.resubmit) then
      it.resume = s.job_id
      order[#order + 1] = it
    else
      later[#later + 1] = it
    end
  end
  for _, it in ipairs(later) do order[#order + 1] = it end

  -- What the chained steps of lines in flight will cost when they are submitted: a line's steps are held from
  -- its budget check until each is submitted (the client's ledger then counts it) or the line ends.
  local pending_steps, stepping = 0, 0             -- stepping: the part of it whose step is being chained
  local function hold(it)
    it.held, it.stepping = {}, {}
    for i, tk in ipairs(then_kinds) do
      it.held[i] = step_estimate(tk) or 0
      pending_steps = pending_steps + it.held[i]
    end
  end
  local function let_go(it, i)
    if not it.held then return end
    for n = i or 1, i or #then_kinds do
      pending_steps = pending_steps - (it.held[n] or 0)
      if it.stepping[n] then stepping = stepping - (it.held[n] or 0) end
      it.held[n], it.stepping[n] = 0, nil
    end
  end
  local function chaining(it, i)
    if it.held and not it.stepping[i] then
      it.stepping[i] = true
      stepping = stepping + (it.held[i] or 0)
    end
  end

  local function fail(it, e, id, after_step)
    let_go(it)
    local job = it.job
    job.status, job.job_id, job.code, job.message = "failed", id or job.job_id, e.code or e.kind, e.message
    summary.failed = summary.failed + 1
    -- a job that FAILed is submitted again by the next run; any other failure (a timeout, a download) keeps its JobId
    if after_step == "then" then                  -- a chained step: the model stays done in the journal
      if e.step_job_id then
        journal_write(journal, { event = "then_failed", key = it.key, step = e.step, job_id = e.step_job_id,
                                 code = job.code, job_failed = e.kind == "job" or nil })
      end
    elseif job.job_id then
      journal_write(journal, { event = "failed", key = it.key, job_id = job.job_id, code = job.code,
                               job_failed = not after_step and e.kind == "job" or nil })
    end
    event { event = "failed", name = it.name, line = it.line, key = it.key, job_id = job.job_id, code = job.code,
            kind = e.kind, message = e.message }
  end

  -- The line's chained steps (--then) on its model: `src` the model's DONE result or JobId, `parent_key` its
  -- cache key. Each chained JobId is journaled before it is waited for; a step an earlier run submitted is
  -- waited for, not submitted again. True, or the failure reported (and false).
  local function run_chain(it, src, parent_key)
    local job, st = it.job, state[it.key]
    local earlier = st and st.steps or {}
    local steps, cerr = chain.run_then(client, src, then_kinds, {
      params = opts.then_params, dir = files.join(dir, it.name), name = it.name, extract = opts.extract,
      from = kind, interval = opts.interval, timeout = opts.timeout, download_timeout = opts.download_timeout,
      cache = parent_key,
      resume = function(i, tk)
        local e = earlier[i]
        if e and e.job_id and e.kind == tk and e.status ~= "failed" then
          summary.resumed = summary.resumed + 1
          event { event = "then_resumed", name = it.name, line = it.line, key = it.key, job_id = e.job_id, kind = tk,
                  step = i }
          return e.job_id
        end
      end,
      before_step = function(i) chaining(it, i) end,
      on_submit = function(j, i, tk)
        let_go(it, i)                               -- the client's ledger counts this step now
        if not j.JobId then return end              -- convert: synchronous, nothing to wait for
        local ok, jerr = journal_write(journal, { event = "then_submitted", key = it.key, step = i, kind = tk,
                                                  job_id = j.JobId, from_job = job.job_id, at = os.time() })
        event { event = "then_submitted", name = it.name, line = it.line, key = it.key, job_id = j.JobId, kind = tk,
                step = i, from_job = job.job_id, journal_error = not ok and tostring(jerr and jerr.message or jerr) or nil }
      end,
      on_step = function(step, i)
        local saved = {}
        for n, f in ipairs(step.files) do saved[n] = { type = f.type, path = f.path, bytes = f.bytes, dir = f.dir } end
        local spent = step.cached and 0 or credits.of(step.result)
        local id = step.job and step.job.JobId
        journal_write(journal, { event = "then_done", key = it.key, step = i, kind = step.kind, job_id = id,
                                 files = saved, credits = spent })
        job.steps = job.steps or {}
        job.steps[i] = { kind = step.kind, job_id = id, files = saved, credits = spent, cached = step.cached }
        summary.chained = summary.chained + 1
        if spent then
          summary.chained_credits = summary.chained_credits + spent
          summary.credits = (summary.credits or 0) + spent
        end
        event { event = "then_done", name = it.name, line = it.line, key = it.key, job_id = id, kind = step.kind,
                step = i, files = saved, credits = spent, cached = step.cached }
      end,
    })
    if steps then return true end
    local before = cerr.steps or {}
    cerr.step = #before + 1
    local sid = cerr.job_id                       -- the failing step's own job, when it has one
    if sid == job.job_id or (#before > 0 and before[#before].job and sid == before[#before].job.JobId) then sid = nil end
    cerr.step_job_id = sid
    fail(it, cerr, job.job_id, "then")
    return false
  end

  -- A line done (its model saved): its chain, then the after seam; the summary counts it once all are done.
  local function finish(it, res, got, parent_key)
    local job = it.job
    if #then_kinds > 0 and not run_chain(it, res or job.job_id, parent_key) then return end
    if opts.after and res then                    -- the job is done and saved; a failing after step is reported
      local called, ok, aerr = call_back("AFTER", opts.after, it, res, got)
      local e = not called and ok or (not ok and aerr ~= nil and (type(aerr) == "table" and aerr
        or invalid("AFTER", "after: " .. tostring(aerr)))) or nil
      if e then                                   -- raised, or returned nil, err: the next run tries it again
        job.after_error = true
        return fail(it, e, job.job_id, true)
      end
    end
    let_go(it)
    job.status = "done"
    summary.done = summary.done + 1
  end

  local function run_one(it)
    local job, id = it.job, it.resume
    if it.chain_only then                         -- the model was saved by an earlier run: its chain goes on
      return finish(it, nil, nil, it.cache_key)
    end
    if id then
      job.job_id, job.resumed = id, true
      summary.resumed = summary.resumed + 1
      event { event = "resumed", name = it.name, line = it.line, key = it.key, job_id = id }
    else
      local hit
      if opts.cached then                         -- the seam of a result cache: files with no request at all
        local called
        called, hit = call_back("CACHED", opts.cached, it)
        if not called then return fail(it, hit) end
      elseif it.cache_key then                    -- the client's cache_dir
        local found = client:cache_lookup(it.cache_key, { dir = files.join(dir, it.name), name = it.name,
                                                          extract = opts.extract, kind = kind })
        if found then
          hit = found.files
          job.job_id = found.job and found.job.JobId
        end
      end
      if type(hit) == "table" and #hit > 0 then
        local saved = {}
        for i, f in ipairs(hit) do saved[i] = { type = f.type, path = f.path, bytes = f.bytes, dir = f.dir } end
        job.files, job.cached = saved, true
        summary.cached = (summary.cached or 0) + 1
        event { event = "cached", name = it.name, line = it.line, key = it.key, job_id = job.job_id, files = saved }
        if #then_kinds > 0 and not job.job_id then
          return fail(it, invalid("CACHE_NO_JOB", "the cache entry has no JobId to chain from"))
        end
        return finish(it, nil, hit, it.cache_key)
      end
      if opts.before_submit then
        local called, ok, berr = call_back("BEFORE_SUBMIT", opts.before_submit, it)
        if not called then return fail(it, ok) end
        if not ok then return fail(it, type(berr) == "table" and berr or invalid("REFUSED", "before_submit refused the job")) end
      end
      if #then_kinds > 0 then                     -- the model and its chained steps must fit what the budget has left,
        local left = select(2, client:credits()).left   -- less the steps other lines in flight have still to submit
        local need = credits.estimate(it.send, { kind = kind, door = client.door })
        for _, tk in ipairs(then_kinds) do need = need and step_estimate(tk) and need + step_estimate(tk) end
        -- a step being chained is held here and may already be reserved by the client: wait for it to settle
        while left and need and need > left - pending_steps and need <= left - pending_steps + stepping do
          pause(0.02)
          left = select(2, client:credits()).left
        end
        if left and need and need > left - pending_steps then
          return fail(it, invalid("OVER_BUDGET", ("line %d (%s): the model and its chained steps would cost %g credits; "
            .. "max_credits has %g left once the other lines' chained steps are paid (nothing was sent)"):format(
              it.line, it.name, need, left - pending_steps)))
        end
        hold(it)
      end
      local sub, serr = client:submit(it.send, { kind = kind })
      if not sub then return fail(it, serr) end
      id = sub.JobId
      job.job_id = id
      local ok, jerr = journal_write(journal, { event = "submitted", key = it.key, name = it.name, line = it.line,
                                                job_id = id, kind = kind, at = os.time() })
      event { event = "submitted", name = it.name, line = it.line, key = it.key, job_id = id,
              journal_error = not ok and tostring(jerr and jerr.message or jerr) or nil }
    end
    local res, werr = client:wait(id, { kind = kind, interval = opts.interval, timeout = opts.timeout })
    if not res then return fail(it, werr, id) end
    local got, derr = client:download_files(res, { formats = opts.formats, dir = files.join(dir, it.name),
                                                   name = it.name, extract = opts.extract, kind = kind,
                                                   timeout = opts.download_timeout })
    if not got then return fail(it, derr, id) end
    local saved, spent = {}, tonumber(res.ResultCreditConsumed)
    for i, f in ipairs(got) do saved[i] = { type = f.type, path = f.path, bytes = f.bytes, dir = f.dir } end
    job.files, job.credits = saved, spent
    if spent then summary.credits = (summary.credits or 0) + spent end
    journal_write(journal, { event = "done", key = it.key, name = it.name, job_id = id, files = saved, credits = spent })
    if it.cache_key then                          -- stored for the next run; a store that fails costs nothing
      client:cache_store(it.cache_key, { job_id = id, kind = kind, credits = spent,
        prompt = type(it.send.Prompt) == "string" and it.send.Prompt:sub(1, 400) or nil }, got)
    end
    event { event = "done", name = it.name, line = it.line, key = it.key, job_id = id, files = saved, credits = spent }
    return finish(it, res, got, it.cache_key)
  end

  local next_i = 0
  local tasks = {}
  for w = 1, math.min(limit, #order) do
    tasks[w] = scheduler.spawn(function()
      while true do
        next_i = next_i + 1
        local it = order[next_i]
        if not it then return end
        run_one(it)
      end
    end)
  end
  while true do
    local running = false
    for _, t in ipairs(tasks) do
      local st = t:status()
      if st == "failed" then error(t.error, 0) end   -- a raise (Ctrl-C's "interrupted!" too) goes on up
      if st == "running" then running = true end
    end
    if not running then break end
    pause(0.02)
  end
  summary.elapsed = now() - t0
  return summary
end

M.canonical, M.csv_fields = canonical, csv_fields

return M
