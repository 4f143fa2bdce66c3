--- hy3d.cli.cmd.gallery: `hy3d gallery`: writes DIR/index.html (hy3d.gallery) from the job record; --fetch gets missing previews.
-- Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local gallery = require "hy3d.gallery"
local args = require "hy3d.cli.args"
local context = require "hy3d.cli.context"
local exit = require "hy3d.cli.exit"

local now = core.now
local guarded = context.guarded
local EXIT, usage_error = exit.EXIT, exit.usage_error
local CONNECT_HELP, OUTPUT_HELP = args.CONNECT_HELP, args.OUTPUT_HELP

local USAGE = [[
usage: hy3d gallery [options] [DIR]

Writes DIR/index.html (DIR: default the current folder), a page of the models the job record
says were saved in DIR: each job's preview image, name, prompt, kind, face count, credits and
links to its files, and an interactive 3D view of each GLB (@google/model-viewer, copied with
the GLBs it shows into DIR/.hy3d-gallery/). The page needs no network: open it from file://.
A preview is a file beside the model: `hy3d generate --format glb,preview` saves one.

gallery:
  --fetch                first download the preview image of each model in DIR that has none
                         (the only part that uses the network; nothing is billed)
  --viewer FILE          the viewer script, model-viewer-umd.min.js (default: HY3D_MODEL_VIEWER,
                         else the copy installed with hy3d); --viewer none: no 3D views
  --timeout SECONDS      give up --fetch after this long (default: no limit)

]] .. CONNECT_HELP .. "\n" .. OUTPUT_HELP

-- Downloads the preview of each model without one (jobs recorded DONE); records the new files.
local function fetch_previews(ctx, o, result, dir)
  local fetched = 0
  local prefix = (ctx:absolute(dir):gsub("/+$", "")) .. "/"
  for _, id in ipairs(result.no_preview) do
    local rec = ctx:lookup(id)
    local model                                 -- the job's first model file in DIR: the preview goes beside it
    for _, p in ipairs(rec and rec.files or {}) do
      if p:sub(1, #prefix) == prefix and not p:find("/$") and not p:find("/.", #prefix, true)
          and not p:lower():match("%.png$") and not p:lower():match("%.jpe?g$") and not p:lower():match("%.webp$") then
        model = model or p
      end
    end
    if rec and model then
      local kind = type(rec.kind) == "string" and rec.kind or "pro"
      local client, err = ctx:connect(o, kind, ("the job record (a %s job)"):format(kind), rec)
      if not client then return nil, err end
      local folder, stem = model:match("^(.*)/([^/]*)$")
      stem = stem:gsub("%.[^.]*$", "")
      ctx.job_id = id
      local got
      got, err = ctx:drive(function()
        return client:download_files(id, { kind = kind, formats = { "preview" }, dir = folder, name = stem,
          timeout = math.max(ctx.deadline - now(), 0.001),
          on_progress = guarded(ctx, function(done, total, ftype) ctx:progressed(done, total, ftype) end) })
      end)
      if not got then
        err = ctx:deadline_error(err)
        if err.kind == "timeout" then return nil, err end
        ctx:warn(("job %s: no preview: %s"):format(id, errors.text(err)))
      else
        for _, f in ipairs(got) do
          ctx:saved(f)
          ctx:remember { job_id = id, files = { ctx:absolute(f.path) } }
          fetched = fetched + 1
        end
      end
    end
  end
  return fetched
end

local function cmd_gallery(ctx, o, pos)
  if #pos > 1 then return ctx:fail(usage_error("takes one DIR at most")) end
  local dir = pos[1] or "."
  if dir == "" then return ctx:fail(usage_error("DIR is empty: give a folder")) end
  local ok, err = args.number_option(o, "timeout", "--timeout", 0, false, nil, true)
  if not ok then return ctx:fail(err) end
  local viewer
  if o.viewer == "none" then
    viewer = false
  elseif o.viewer then
    if o.viewer == "" then return ctx:fail(usage_error("--viewer needs a file, or none")) end
    viewer = ctx:absolute(o.viewer)
  end
  local rec = ctx:record()
  if not rec then return ctx:fail(errors.new { kind = "io", code = "NO_RECORD", message = tostring(ctx.rec_error) }) end
  local opts = { jobs_file = rec.path, viewer = viewer, cwd = ctx.getenv("PWD"), getenv = ctx.getenv }
  local result
  result, err = gallery.write(dir, opts)
  if not result then return ctx:fail(err) end
  if o.fetch and #result.no_preview > 0 then
    ctx.t0 = now()
    ctx:start_clock(o)
    local fetched
    fetched, err = fetch_previews(ctx, o, result, dir)
    if not fetched then return ctx:fail(err) end
    ctx.job_id = nil
    if fetched > 0 then
      result, err = gallery.write(dir, opts)
      if not result then return ctx:fail(err) end
    end
  end
  if not result.viewer and viewer ~= false and result.glbs > 0 then
    ctx:warn("no model viewer installed (make deps-viewer, then make install; or --viewer FILE): 3D views left out")
  end
  if ctx.json then
    ctx:emit { event = "gallery", path = result.path, models = result.models, viewer = result.viewer ~= nil,
               no_preview = #result.no_preview > 0 and result.no_preview or nil }
  else
    ctx:out(("wrote %s (%d model%s)\n"):format(result.path, result.models, result.models == 1 and "" or "s"))
    if #result.no_preview > 0 and not o.fetch then
      ctx:note(("%d without a preview image: `hy3d gallery %s--fetch` downloads them"):format(#result.no_preview,
        pos[1] and (context.shell_word(pos[1]) .. " ") or ""))
    end
  end
  return EXIT.ok
end

return { usage = USAGE, run = cmd_gallery }
