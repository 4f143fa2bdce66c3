--- hy3d.cli: the `hy3d` command (bin/hy3d): generate, batch, submit, status, wait, download, jobs,
-- cache, doctor, inspect, gallery, sandbox. main(argv [, env]) returns the exit code; output goes to io.stdout and
-- io.stderr.
-- On a terminal it draws a live status line and download bars on stderr; otherwise (or with
-- --json) it writes one JSON object per line on stdout. Every job it submits is recorded
-- (hy3d.jobs) before it waits, so neither a crash nor Ctrl-C loses a JobId. No secret reaches
-- stdout, stderr or the record: every string is redacted, at any depth, before it is written.
-- --timeout bounds the whole command, the downloads included.
-- This file: the command table, what comes before a command (--help, --version, options), and
-- an unexpected error turned into exit 70. The parts, each on its own: hy3d.cli.args (options,
-- help), hy3d.cli.output (what is written), hy3d.cli.context (one run: record, errors, deadline),
-- hy3d.cli.connect (credentials, door, client), hy3d.cli.params (job parameters, files),
-- hy3d.cli.kinds (HY3D_KINDS, which --kind a command takes),
-- hy3d.cli.exit (exit codes), hy3d.cli.cmd.<command> (each command with its usage text).
-- Version-neutral Lua (5.1 to 5.4, LuaJIT): no integer division, bitwise operators, goto or utf8.
local core = require "hy3d.core"
local args = require "hy3d.cli.args"
local context = require "hy3d.cli.context"
local exit = require "hy3d.cli.exit"
local kinds = require "hy3d.cli.kinds"
local params = require "hy3d.cli.params"

local EXIT, usage_error = exit.EXIT, exit.usage_error
local OPTIONS, parse = args.OPTIONS, args.parse

local M = {}

M.EXIT = EXIT

-- The commands in the order `hy3d --help` lists them; each is hy3d.cli.cmd.<name>.
local NAMES = { "generate", "batch", "submit", "status", "wait", "download", "jobs", "cache", "doctor", "inspect",
                "gallery", "sandbox" }
local COMMANDS, USAGE = {}, {}
for _, name in ipairs(NAMES) do
  COMMANDS[name] = require("hy3d.cli.cmd." .. name)
  USAGE[name] = COMMANDS[name].usage
end
local chain_cmd = require "hy3d.cli.cmd.chain"      -- the chain verbs: rig, topology, uv, texture, part, motion, convert
for _, verb in ipairs(chain_cmd.order) do
  COMMANDS[verb], USAGE[verb] = chain_cmd.verbs[verb], chain_cmd.verbs[verb].usage
end

USAGE.main = [[
usage: hy3d <command> [options] [arguments]

Generate 3D models with Tencent Hunyuan 3D.

commands:
  generate PROMPT        submit a job, wait for it and download its files
  batch FILE             run one job per line of FILE (resumable), files in --dir/NAME/
  submit PROMPT          submit a job and print its JobId
  status JOBID           query a job once
  wait JOBID             wait until a job is DONE or FAIL
  download JOBID         wait for a job if need be, then download its files
  jobs                   list the local record of jobs
  cache ls|clear         list or clear the result cache (--cache DIR or HY3D_CACHE_DIR)
  doctor                 check the setup: credentials, door, clock, CA, proxy, account
  inspect FILE...        what a model file holds: vertices, triangles, box, materials
  rig JOBID              rig a finished model (AutoRigging), wait and download the FBX
  topology JOBID         retopologise it (smart topology); also uv, part, texture JOBID
                         PROMPT, motion JOBID PROMPT, convert JOBID FORMAT (see doc/cli.md)
  gallery [DIR]          write DIR/index.html: previews, prompts and 3D views of DIR's models
  sandbox [ARGS]         run hy3d-sandbox, the offline emulator (needs Lua 5.3+)
  help [COMMAND]         this text, or a command's

`hy3d COMMAND --help` lists a command's options. Credentials come from the environment:
HY3D_API_KEY (the gateway; HY3D_BASE_URL to point elsewhere) or TENCENTCLOUD_SECRET_ID and
TENCENTCLOUD_SECRET_KEY (API 3.0; TENCENTCLOUD_SESSION_TOKEN, TENCENTCLOUD_REGION, HY3D_ENDPOINT).
With both set, rapid jobs and jobs recorded on API 3.0 use API 3.0, others the gateway;
--door gateway|api3|tokenhub|local|mps or HY3D_DOOR chooses (tokenhub: HY3D_API_KEY holds a
TokenHub key; local: a self-hosted server at HY3D_BASE_URL, no credentials; mps: Media
Processing, the same SecretId pair). --site intl or HY3D_SITE=intl reaches the international
service (tencentcloud.com accounts: API 3.0, or MPS with --door mps) instead of the mainland's.
HY3D_KINDS adds job kinds the service has and hy3d does not know yet: NAME=SUBMIT,QUERY entries
separated by ';' (then --kind NAME).

exit codes: 0 done, 1 the job failed, 2 usage or invalid input, 3 credentials or authentication,
4 network/HTTP, 5 timeout, 6 other API error, 7 local file error, 70 internal error,
130 interrupted.
]]

local function version_line()
  local ok, hy3d = pcall(require, "hy3d")
  return ("hy3d %s (%s, libcurl %s)\n"):format(ok and hy3d._VERSION or core._VERSION, rawget(_G, "jit") and
    tostring(rawget(_G, "jit").version) or _VERSION, tostring(core.curl_version))
end

local function isatty(fd)
  return core.isatty(fd) == true
end

local function run(ctx, argv)
  local i, before = 1, {}
  while argv[i] and argv[i]:sub(1, 1) == "-" and argv[i] ~= "-" do      -- options before the command
    local a = argv[i]
    if a == "--help" or a == "-h" then
      local words = {}
      for k = i + 1, #argv do words[#words + 1] = argv[k] end
      return args.help(USAGE, words, a)
    elseif a == "--version" then
      if argv[i + 1] ~= nil then
        io.stderr:write("hy3d: --version takes nothing after it (see `hy3d --help`)\n")
        return EXIT.usage
      end
      io.stdout:write(version_line())
      return EXIT.ok
    end
    before[#before + 1] = a
    local name = a:match("^(%-%-[^=]+)=") or a
    if OPTIONS[name] and not OPTIONS[name].flag and not a:find("=", 1, true) then
      i = i + 1
      before[#before + 1] = argv[i]
    end
    i = i + 1
  end
  local cmd = argv[i]
  if cmd == nil then
    io.stderr:write("hy3d: give a command: generate, batch, submit, status, wait, download, jobs, cache, doctor, inspect, "
      .. "gallery, sandbox or help "
      .. "(see `hy3d --help`)\n")
    return EXIT.usage
  end
  local rest = {}
  for k = i + 1, #argv do rest[#rest + 1] = argv[k] end
  if cmd == "help" then return args.help(USAGE, rest, "help") end
  if cmd == "sandbox" then
    if #before > 0 then
      io.stderr:write("hy3d sandbox: give its options after the word sandbox (see `hy3d sandbox --help`)\n")
      return EXIT.usage
    end
    return COMMANDS.sandbox.run(ctx, rest)
  end
  if not COMMANDS[cmd] then
    io.stderr:write("hy3d: unknown command ", (cmd:gsub("[%c]", "?")), " (see `hy3d --help`)\n")
    return EXIT.usage
  end
  ctx.cmd = cmd
  local words = {}
  for _, a in ipairs(before) do words[#words + 1] = a end
  for _, a in ipairs(rest) do words[#words + 1] = a end
  ctx.words = words                                -- the command's own words, to say how to run it again
  local o, pos = parse(cmd, words)
  if not o then return ctx:fail(pos) end
  if o.help then
    io.stdout:write(USAGE[cmd])
    return EXIT.ok
  end
  if o.json and o.text then return ctx:fail(usage_error("--json and --text exclude each other")) end
  if o.jobs_file == "" then return ctx:fail(usage_error("--jobs-file needs a file name")) end
  local tty = isatty(1)
  ctx.tty_err = isatty(2)
  ctx.json = o.json or (not o.text and not tty)
  if cmd == "submit" or cmd == "jobs" or cmd == "cache" or cmd == "inspect" then   -- a JobId / a table / a summary
    ctx.json = o.json == true
  end
  ctx.quiet = o.quiet == true
  ctx.live = not ctx.json and not ctx.quiet and tty and ctx.tty_err
  ctx.jobs_file = o.jobs_file
  local ok, kerr = kinds.load(ctx)                -- HY3D_KINDS: families added at run time
  if not ok then return ctx:fail(kerr) end
  return COMMANDS[cmd].run(ctx, o, pos)
end

--- Runs the hy3d command with the argument list argv (arg from the interpreter: argv[1] is the
-- first argument). `env` (optional): a function(name) or a table standing in for os.getenv for
-- the command's own variables (HY3D_JOBS_FILE, XDG_STATE_HOME, HOME, PWD, HY3D_DOOR, HY3D_SITE); the
-- credentials and service URLs are read from the process environment (by ctx:connect, which
-- passes them to hy3d.new). Returns the exit code.
function M.main(argv, env)
  argv = argv or {}
  local words = {}
  for k = 1, #argv do words[k] = tostring(argv[k]) end
  local ctx = context.new(env)
  local trace
  local ok, code = xpcall(function() return run(ctx, words) end, function(e)
    trace = debug.traceback(tostring(e), 2)
    return e
  end)
  if ok then return code end
  if tostring(code):find("interrupted!", 1, true) then return ctx:interrupted() end
  ctx:err("hy3d: internal error: " .. tostring(trace or code) .. "\n")
  local id = ctx.job_id
  if id and ctx.phase == "download" then
    ctx:err(("hy3d: job %s is DONE: `hy3d download %s` fetches its files\n"):format(id, id))
  elseif id then
    ctx:err(("hy3d: job %s goes on at the service: `hy3d wait %s` waits for it\n"):format(id, id))
  end
  return EXIT.internal
end

M.parse = parse
M.slug = params.slug
M.save_options = params.save_options
M.usage = USAGE
M.exit_code = exit.exit_code

return M
