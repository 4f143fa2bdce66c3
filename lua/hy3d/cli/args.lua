--- hy3d.cli.args: the hy3d command's options (which command takes which), their parsing, number
-- options, the help fragments the commands' usage texts share, and `hy3d help`.
-- Depends on hy3d.cli.exit only. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local exit = require "hy3d.cli.exit"

local EXIT, usage_error = exit.EXIT, exit.usage_error

local M = {}

-- ===== help fragments =====

local CONNECT_HELP = [[
connection (defaults come from the environment; see `hy3d --help`):
  --base-url URL         the gateway's or TokenHub's URL, or a self-hosted server's (HY3D_BASE_URL)
  --endpoint URL         the API 3.0 or MPS endpoint (HY3D_ENDPOINT)
  --region REGION        the API 3.0 region (TENCENTCLOUD_REGION; default ap-guangzhou, on the
                         intl site ap-singapore)
  --site mainland|intl   the site (HY3D_SITE; default mainland, or the job record's): intl
                         is the international service (tencentcloud.com accounts), on
                         API 3.0, TokenHub (--door tokenhub) or MPS (--door mps)
  --retries N            retries of a failed request (network trouble, 429, 5xx; default 3)
  --door DOOR            gateway, api3, tokenhub, local or mps (HY3D_DOOR): which door, and
                         so which credentials (tokenhub: HY3D_API_KEY holds a TokenHub key;
                         mps: Media Processing, with TENCENTCLOUD_SECRET_ID/KEY); by
                         default a kind only API 3.0 offers (rapid) or a job recorded there
                         goes through API 3.0, anything else through the gateway when
                         HY3D_API_KEY is set; local: a self-hosted Hunyuan3D-2/2.1 server at
                         --base-url (no credentials; plain http:// is fine)
  --allow-http           allow a plain http:// URL to a host that is not this machine
  --language en-US|zh-CN the language of API 3.0's messages (HY3D_LANGUAGE; the service's
                         default is Chinese); no effect on the gateway, which has no such choice
  --api-key KEY          a gateway or TokenHub API key (discouraged: other users can read it
                         in the process list; set HY3D_API_KEY instead)
]]

local function output_help(json_default)
  return [[
output:
  --json                 one JSON object per line on stdout (]] .. (json_default
    and "the default when stdout is not a\n                         terminal)" or "else plain text, even in a pipe)") .. [[

  --text                 human-readable output even when stdout is not a terminal
  -q, --quiet            no status or progress, only results and errors
  --jobs-file FILE       the local job record (HY3D_JOBS_FILE; default
                         $XDG_STATE_HOME/hy3d/jobs.jsonl or ~/.local/state/hy3d/jobs.jsonl)
  -h, --help             this text
]]
end
local OUTPUT_HELP = output_help(true)

local JOB_HELP = [[
job:
  --kind KIND            the job family: pro (default), rapid, or a kind HY3D_KINDS adds
                         (sent the prompt and --image as given); all but pro need API 3.0
                         credentials and use them even when HY3D_API_KEY is set, unless
                         --door says otherwise (tokenhub runs rapid too)
  --image PATH|URL       an image to build from (PNG, JPEG or WebP; a URL is sent as ImageUrl)
  --view NAME=PATH|URL   another view of the object, for pro (repeatable; NAME is left, right,
                         back, top, bottom, left_front or right_front; needs --image)
  --model 3.0|3.1        the pro model version (default the service's, 3.0)
  --faces N              the face count (pro, 3000 to 1500000)
  --type TYPE            pro GenerateType: Normal, LowPoly, Geometry or Sketch
  --polygon TYPE         pro PolygonType: triangle or quadrilateral
  --pbr                  PBR materials (EnablePBR)
  --result-format FMT    an extra file type: STL, USDZ or FBX for pro; OBJ, GLB, STL, USDZ, FBX
                         or MP4 for rapid
  --param NAME=VALUE     an API field sent as given (repeatable): VALUE is read as JSON
                         (5, true, {"Url":"https://..."}), else as a string; for fields no
                         option sets, such as those of a kind HY3D_KINDS adds
  --no-validate          skip hy3d's local check of the job's parameters (the service still
                         checks them)
]]

local function wait_help(downloads)
  return [[
waiting:
  --timeout SECONDS      give up after this long (above 0), ]] .. (downloads
    and "waiting and downloading included\n                         (exit 5; the job goes on; default 1800)"
    or "waiting for the job only\n                         (exit 5; the job goes on; default 1800)") .. [[

  --interval SECONDS     seconds between status queries (default 5)
]]
end
local WAIT_HELP = wait_help(true)

local function save_help(checked, default)
  return [[
files:
  -o, --output PATH      where to save: a directory (ending in /), or a file name whose
                         extension (.glb, .obj, .zip, .stl, .usdz, .fbx) picks the format when
                         --format is not given; other types get the same base name
  --format LIST          file types to download, comma-separated (default ]] .. (default or "GLB") .. [[; "all" = every file;
                         "preview" = the preview image, for `hy3d gallery`)
  --dir DIR              the directory for the files (default .; -o is relative to it;
                         checked before ]] .. checked .. [[, created if missing)
  --extract              unzip zipped results (OBJ) into NAME_obj/
]]
end
local SAVE_HELP = save_help("the job is submitted")

local THEN_HELP = [[
then (post-processing chains, see doc/cli.md#chains):
  --then VERB            when the model is done, run rig, topology, uv, texture, part, motion
                         or convert on it, then download that job's files too (repeatable, or
                         a comma list: each step works on the previous one's output)
  --then-param VERB.NAME=VALUE
                         a field of that step, read as JSON like --param (repeatable):
                         --then-param convert.Format=STL, --then-param texture.Prompt=rusty,
                         --then-param motion.Prompt="a person walks". What a step needs is
                         checked before the model is submitted (exit 2, nothing sent)
]]

local KIND_HELP = [[
  --kind KIND            the job family (default: the recorded one, else pro)
]]

local CACHE_HELP = [[
cache (doc/cli.md#cache):
  --cache DIR            answer a request identical to an earlier one from the result cache
                         in DIR (HY3D_CACHE_DIR): no request, no credits; else store its files
  --no-cache             neither read nor write the cache, even with HY3D_CACHE_DIR set
]]
M.CACHE_HELP = CACHE_HELP

M.CONNECT_HELP, M.OUTPUT_HELP, M.JOB_HELP, M.WAIT_HELP, M.SAVE_HELP, M.KIND_HELP =
  CONNECT_HELP, OUTPUT_HELP, JOB_HELP, WAIT_HELP, SAVE_HELP, KIND_HELP
M.THEN_HELP = THEN_HELP
M.output_help, M.wait_help, M.save_help = output_help, wait_help, save_help

-- ===== options =====

-- flag: no value; multi: repeatable (a list).
local OPTIONS = {
  ["--help"] = { key = "help", flag = true }, ["-h"] = { key = "help", flag = true },
  ["--json"] = { key = "json", flag = true }, ["--text"] = { key = "text", flag = true },
  ["--quiet"] = { key = "quiet", flag = true }, ["-q"] = { key = "quiet", flag = true },
  ["--jobs-file"] = { key = "jobs_file" },
  ["--api-key"] = { key = "api_key" }, ["--base-url"] = { key = "base_url" },
  ["--endpoint"] = { key = "endpoint" }, ["--region"] = { key = "region" }, ["--retries"] = { key = "retries" },
  ["--kind"] = { key = "kind" }, ["--model"] = { key = "model" }, ["--image"] = { key = "image" },
  ["--view"] = { key = "view", multi = true }, ["--faces"] = { key = "faces" }, ["--type"] = { key = "type" },
  ["--polygon"] = { key = "polygon" }, ["--pbr"] = { key = "pbr", flag = true },
  ["--result-format"] = { key = "result_format" }, ["--param"] = { key = "param", multi = true },
  ["--timeout"] = { key = "timeout" }, ["--interval"] = { key = "interval" },
  ["-o"] = { key = "output" }, ["--output"] = { key = "output" }, ["--format"] = { key = "format" },
  ["--dir"] = { key = "dir" }, ["--extract"] = { key = "extract", flag = true },
  ["--limit"] = { key = "limit" }, ["--fetch"] = { key = "fetch", flag = true }, ["--viewer"] = { key = "viewer" },
  ["--door"] = { key = "door" }, ["--site"] = { key = "site" }, ["--allow-http"] = { key = "allow_http", flag = true },
  ["--no-validate"] = { key = "no_validate", flag = true }, ["--language"] = { key = "language" },
  ["--cache"] = { key = "cache" }, ["--no-cache"] = { key = "no_cache", flag = true },
  ["--older-than"] = { key = "older_than" },
  ["--max-credits"] = { key = "max_credits" }, ["--dry-run"] = { key = "dry_run", flag = true },
  ["--concurrency"] = { key = "concurrency" },                    -- hy3d batch
  ["--then"] = { key = "then_list", multi = true },
  ["--then-param"] = { key = "then_param", multi = true }, ["--no-wait"] = { key = "no_wait", flag = true },
  ["--input-type"] = { key = "input_type" },
}

local GROUPS = {
  common = { "--help", "-h", "--json", "--text", "--quiet", "-q", "--jobs-file" },
  connect = { "--api-key", "--base-url", "--endpoint", "--region", "--retries", "--door", "--site", "--allow-http",
              "--language" },
  kind = { "--kind" },
  job = { "--kind", "--model", "--image", "--view", "--faces", "--type", "--polygon", "--pbr", "--result-format",
          "--param", "--no-validate" },
  wait = { "--timeout", "--interval" },
  save = { "-o", "--output", "--format", "--dir", "--extract" },
  list = { "--limit" },
  cache = { "--cache", "--no-cache" },
  cache_admin = { "--cache", "--older-than" },
  budget = { "--max-credits", "--dry-run" },     -- hy3d.cli.budget
  batch = { "--kind", "--format", "--dir", "--extract", "--concurrency", "--no-validate" },
  chain = { "--no-wait", "--input-type", "--param" },
  ["then"] = { "--then", "--then-param" },
  gallery = { "--fetch", "--viewer", "--timeout" },
}

-- The option groups each command takes.
local COMMANDS = {
  generate = { "common", "connect", "job", "wait", "save", "cache", "budget", "then" },
  submit = { "common", "connect", "job", "budget" },
  status = { "common", "connect", "kind" },
  wait = { "common", "connect", "kind", "wait" },
  download = { "common", "connect", "kind", "wait", "save" },
  jobs = { "common", "list" },
  cache = { "common", "cache_admin" },
  doctor = { "common", "connect" },
  batch = { "common", "connect", "batch", "wait", "cache", "budget", "then" },
  inspect = { "common" },
  gallery = { "common", "connect", "gallery" },
}
for _, verb in ipairs { "rig", "topology", "uv", "texture", "part", "motion", "convert" } do   -- hy3d.cli.cmd.chain
  COMMANDS[verb] = { "common", "connect", "kind", "chain", "wait", "save" }
end

local function allowed(cmd)
  local set = {}
  for _, g in ipairs(COMMANDS[cmd]) do
    for _, name in ipairs(GROUPS[g]) do set[name] = OPTIONS[name] end
  end
  return set
end

-- Parses a command's arguments: options (--name value, --name=value, -o value, flags) anywhere,
-- "--" ends them. Returns the options and the positional arguments, or nil and a usage error.
-- Messages never repeat an option's value (it may be a key).
local function parse(cmd, args)
  local spec = allowed(cmd)
  local o, pos = { view = {}, param = {}, then_list = {}, then_param = {} }, {}
  local i, only_positional = 1, false
  while i <= #args do
    local a = args[i]
    if only_positional or a == "-" or a:sub(1, 1) ~= "-" then
      pos[#pos + 1] = a
    elseif a == "--" then
      only_positional = true
    else
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local opt = spec[name]
      if not opt then
        if OPTIONS[name] then return nil, usage_error(("%s does not take %s"):format(cmd, name)) end
        return nil, usage_error("unknown option " .. name)
      end
      if opt.flag then
        if inline then return nil, usage_error(name .. " takes no value") end
        o[opt.key] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = args[i]
          if v == nil then return nil, usage_error(name .. " needs a value") end
        end
        if v == "" then return nil, usage_error(name .. " needs a value, not an empty one") end
        if opt.multi then o[opt.key][#o[opt.key] + 1] = v else o[opt.key] = v end
      end
    end
    i = i + 1
  end
  return o, pos
end

-- A number option: nil when absent, else decimal digits (with a fraction unless `integer`): a
-- number >= min (> min when `above`), at most `max`; or a usage error, which never repeats the
-- value. `range` (optional) words the values wanted, when the real range is checked elsewhere.
local function number_option(o, key, name, min, integer, range, above, max)
  local v = o[key]
  if v == nil then return true end
  local want = range or ((above and "above " or ">= ") .. min)
  local kind = integer and "a whole number" or "a number"
  local digits = v:match("^%d+$") or (not integer and (v:match("^%d+%.%d*$") or v:match("^%.%d+$")))
  if not digits then
    if v:match("^[+-]?%d*%.?%d*$") and v:match("%d") then
      return nil, usage_error(("%s needs %s %s"):format(name, kind, want))
    end
    return nil, usage_error(("%s is not a number: give %s %s, in decimal digits"):format(name, kind, want))
  end
  local n = tonumber(v)
  if not n or n ~= n or n == math.huge or n < min or (above and n <= min) or n > (max or 1e15) then
    return nil, usage_error(("%s needs %s %s"):format(name, kind, want))
  end
  o[key] = n
  return true
end

M.OPTIONS = OPTIONS
M.parse = parse
M.number_option = number_option

-- `hy3d help [COMMAND]` (and `hy3d --help [COMMAND]`): `usage` holds the texts by command name
-- (and "main"); words after the command name other than --help or -h are a usage error.
function M.help(usage, words, from)
  local topic
  for _, w in ipairs(words) do
    if w ~= "--help" and w ~= "-h" then
      if topic then
        io.stderr:write("hy3d: ", from, " takes one command name at most (see `hy3d --help`)\n")
        return EXIT.usage
      end
      topic = w
    end
  end
  if topic == nil then
    io.stdout:write(usage.main)
    return EXIT.ok
  end
  if not usage[topic] or topic == "main" then
    io.stderr:write("hy3d ", from, ": no command named ", (topic:gsub("[%c]", "?")), " (see `hy3d --help`)\n")
    return EXIT.usage
  end
  io.stdout:write(usage[topic])
  return EXIT.ok
end

return M
