--- hy3d.gallery: hy3d.gallery(dir, opts): an offline HTML page (DIR/index.html) of the models a job record saved in DIR.
-- The models come from the job record (hy3d.jobs: what `hy3d generate`/`download` saved, by file
-- path), so the page knows each one's prompt, kind, asked face count and credits. Each card shows
-- the job's preview image (a file beside the model: download_files' "preview" format), the facts,
-- relative links to the files, and, for a GLB, an interactive 3D view with @google/model-viewer's
-- UMD build (a classic script, so it runs from file://, where Chromium refuses module scripts and
-- fetch): the viewer is copied to DIR/.hy3d-gallery/, and each GLB is wrapped there in a small
-- script (base64) that the page turns into a blob: URL when the card scrolls into view. Nothing
-- is fetched from the network. Every text from a record or a server is HTML-escaped; a link is a
-- path inside DIR, never one that leaves it. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local core = require "hy3d.core"
local errors = require "hy3d.error"
local files = require "hy3d.files"
local jobs = require "hy3d.jobs"

local concat = table.concat
local floor = math.floor

local M = {}

M.VIEWER_NAME = "model-viewer-umd.min.js"     -- the file of @google/model-viewer's dist/ the page loads
M.ASSETS = ".hy3d-gallery"                    -- DIR's folder for the viewer and the wrapped GLBs

local MODEL_EXT = { glb = "GLB", zip = "OBJ", obj = "OBJ", stl = "STL", fbx = "FBX", usdz = "USDZ", gltf = "GLTF" }
local IMAGE_EXT = { png = true, jpg = true, jpeg = true, webp = true, gif = true }

local function fail(code, message)
  return nil, errors.new { kind = "io", code = code, message = message }
end

local read_all = files.read_all

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Writes data to path through a temporary file beside it, then renames it in place.
local function write_file(path, data)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return fail("GALLERY_WRITE", ("cannot write %s: %s"):format(tmp, tostring(err))) end
  local ok, werr = f:write(data)
  f:close()
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return fail("GALLERY_WRITE", ("cannot write %s: %s"):format(path, tostring(werr)))
  end
  return true
end

--- Text made safe inside HTML, in an element or a quoted attribute.
-- @tparam string s any text
-- @treturn string the text with & < > " ' as character references
function M.escape(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                                          ["'"] = "&#39;" }))
end
local escape = M.escape

-- A relative path as a URL path: every byte but letters, digits, - . _ ~ and / percent-encoded.
local function url_path(rel)
  return (rel:gsub("[^A-Za-z0-9%-%._~/]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- A lexically normal absolute path: no ".", "..", or doubled "/" (".." pops a segment).
local function normal(path)
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      parts[#parts] = nil
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  return "/" .. concat(parts, "/")
end

-- path (absolute) relative to dir (absolute, normal) when it lies inside it, else nil.
local function inside(dir, path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then return nil end
  for seg in path:gmatch("[^/]+") do
    if seg == ".." or seg == "." then return nil end           -- the record's paths are normal
  end
  if path:find("[%z\1-\31]") then return nil end
  path = normal(path)
  local prefix = dir == "/" and "/" or dir .. "/"
  if path:sub(1, #prefix) ~= prefix or #path == #prefix then return nil end
  return path:sub(#prefix + 1)
end

local function ext_of(path)
  local e = path:match("%.([A-Za-z0-9]+)$")
  return e and e:lower() or ""
end

local function human_bytes(n)
  if not n then return nil end
  if n < 1024 then return ("%d B"):format(n) end
  if n < 1024 * 1024 then return ("%.1f KB"):format(n / 1024) end
  return ("%.1f MB"):format(n / (1024 * 1024))
end

local function number_text(n)
  if type(n) ~= "number" or n ~= n or n == math.huge or n == -math.huge then return nil end
  if n == floor(n) then return ("%d"):format(n) end
  return ("%g"):format(n)
end

-- The models of the record in dir: one per job with a file there that exists, in record order.
local function collect(list, dir, opts)
  local models = {}
  for _, rec in ipairs(list) do
    local m = { job_id = rec.job_id, kind = rec.kind, prompt = rec.prompt or rec.image, credits = rec.credits,
                face_count = rec.face_count, from_job = rec.from_job, files = {}, seen = {} }
    for _, p in ipairs(type(rec.files) == "table" and rec.files or {}) do
      local rel = inside(dir, p)
      if rel and not rel:find("/$") and not m.seen[rel] and not rel:match("^%.hy3d%-gallery/") and exists(p) then
        m.seen[rel] = true
        local e = ext_of(rel)
        if IMAGE_EXT[e] then
          m.preview = m.preview or rel
        else
          m.files[#m.files + 1] = { rel = rel, path = p, type = MODEL_EXT[e] or e:upper(), bytes = files.size(p) }
          if e == "glb" and not m.glb then m.glb = m.files[#m.files] end
        end
      end
    end
    if #m.files > 0 then
      local first = m.files[1].rel
      local stem = first:gsub("%.[^./]*$", "")
      if not m.preview then                   -- a preview fetched later, beside the model
        for _, e in ipairs { "png", "jpg", "webp" } do
          if exists(dir .. "/" .. stem .. "." .. e) then
            m.preview = stem .. "." .. e
            break
          end
        end
      end
      m.name = type(rec.name) == "string" and rec.name ~= "" and rec.name or stem:match("([^/]*)$")
      if opts.inspect and m.glb then
        local ok, info = pcall(opts.inspect, m.glb.path)
        if ok and type(info) == "table" then m.triangles = info.triangles end
      end
      m.seen = nil
      models[#models + 1] = m
    end
  end
  -- A follow-up job (--then rig, hy3d rig JOBID: its record names from_job) joins the card of the
  -- model it was made from, when that model is shown: its files listed there, its credits added.
  local by_id, cards = {}, {}
  for _, m in ipairs(models) do by_id[m.job_id] = m end
  for _, m in ipairs(models) do
    local root, hops = m.from_job ~= nil and by_id[m.from_job] or nil, 0
    while root and root.from_job ~= nil and by_id[root.from_job] and hops < 16 do   -- a chain of steps: its first model
      root, hops = by_id[root.from_job], hops + 1
    end
    if root and root ~= m and not root.from_job_of then
      for _, f in ipairs(m.files) do
        f.step = m.kind
        root.files[#root.files + 1] = f
      end
      if type(m.credits) == "number" then root.credits = (type(root.credits) == "number" and root.credits or 0) + m.credits end
      m.from_job_of = root
    else
      cards[#cards + 1] = m
    end
  end
  return cards
end

-- hy3d.inspect when another part of hy3d provides it (a GLB's triangle count); nil otherwise.
local function default_inspect()
  local ok, mod = pcall(require, "hy3d.inspect")
  if not ok then return nil end
  if type(mod) == "function" then return mod end
  if type(mod) == "table" and type(mod.inspect) == "function" then return mod.inspect end
  return nil
end

-- The installed viewer: HY3D_MODEL_VIEWER, then beside this module (hy3d/gallery/, where `make
-- install` puts it), then a checkout's build/model-viewer/ (`make deps-viewer`).
local function find_viewer(getenv)
  local env = getenv("HY3D_MODEL_VIEWER")
  if env and env ~= "" then return env end
  local src = debug.getinfo(1, "S").source
  local here = type(src) == "string" and src:match("^@(.*)/[^/]*$")
  if not here then return nil end
  for _, rel in ipairs { "/gallery/", "/../../build/model-viewer/" } do
    local p = here .. rel .. M.VIEWER_NAME
    if exists(p) then return p end
  end
  return nil
end

--- Where hy3d looks for the viewer file (model-viewer-umd.min.js) when opts.viewer does not say.
-- @tparam[opt] function getenv stands in for os.getenv
-- @treturn[1] string the path of the viewer file
-- @treturn[2] nil when none is installed
function M.viewer_path(getenv)
  return find_viewer(getenv or os.getenv)
end

local CSS = [[
body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f2;color:#222}
header{padding:16px 24px;background:#263238;color:#fff}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;font-size:13px;opacity:.8}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px;padding:16px 24px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:12px;overflow:hidden}
.card h2{margin:0 0 8px;font-size:16px;word-break:break-all}
.views{display:flex;gap:8px}.views>*{flex:1;min-width:0;height:200px;border-radius:4px;background:#e8e8e4}
.preview{object-fit:contain}.nopreview{display:flex;align-items:center;justify-content:center;color:#888;font-size:13px}
model-viewer{width:100%;--poster-color:transparent}
.prompt{font-size:14px;white-space:pre-wrap;word-break:break-word}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:13px;margin:8px 0}dt{color:#666}dd{margin:0}
ul{margin:4px 0 0;padding-left:18px;font-size:13px}.state{font-size:12px;color:#666}
]]

-- The page's script: loads a card's GLB (its wrapper script, then a blob: URL) when the card is in
-- view, and marks the card's data-state: loading, loaded or error.
local SCRIPT = [[
window.hy3dGallery = (function () {
  var pending = {};
  function mark(mv, state, text) {
    var card = mv.closest('.card');
    card.setAttribute('data-state', state);
    var s = card.querySelector('.state');
    if (s) s.textContent = text || state;
  }
  function model(key, b64) {
    var mv = pending[key];
    if (!mv) return;
    delete pending[key];
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    mv.src = URL.createObjectURL(new Blob([bytes], { type: 'model/gltf-binary' }));
  }
  function load(mv) {
    var key = mv.getAttribute('data-model');
    if (!key || mv.getAttribute('data-requested')) return;
    mv.setAttribute('data-requested', '1');
    if (!window.customElements || !customElements.get('model-viewer')) {
      mark(mv, 'error', '3D view unavailable: the viewer script did not load');
      return;
    }
    pending[key] = mv;
    mark(mv, 'loading', 'loading the 3D view');
    var s = document.createElement('script');
    s.src = ']] .. M.ASSETS .. [[/' + key + '.js';
    s.onerror = function () { mark(mv, 'error', '3D view unavailable: ' + s.src + ' is missing'); };
    document.head.appendChild(s);
  }
  function start() {
    var list = document.querySelectorAll('model-viewer[data-model]');
    var io = window.IntersectionObserver && new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { io.unobserve(e.target); load(e.target); } });
    }, { rootMargin: '200px' });
    Array.prototype.forEach.call(list, function (mv) {
      mv.addEventListener('load', function () { mark(mv, 'loaded', '3D view: drag to turn, scroll to zoom'); });
      mv.addEventListener('error', function () { mark(mv, 'error', '3D view: the model did not load'); });
      if (io) io.observe(mv); else load(mv);
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
  return { model: model };
})();
]]

local function card(m, key, viewer)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add(('<article class="card" data-job="%s" data-state="%s">\n'):format(escape(m.job_id),
    (key and viewer) and "waiting" or "static"))
  add(("<h2>%s</h2>\n<div class=\"views\">"):format(escape(m.name)))
  if m.preview then
    add(('<img class="preview" src="%s" alt="%s">'):format(escape(url_path(m.preview)), escape("preview of " .. m.name)))
  else
    add('<div class="nopreview">no preview image</div>')
  end
  if key and viewer then
    add(('<model-viewer data-model="%s" camera-controls touch-action="pan-y" shadow-intensity="1" alt="%s">'
      .. '</model-viewer>'):format(key, escape("3D view of " .. m.name)))
  end
  add("</div>\n")
  if key and viewer then add('<div class="state">3D view: waiting</div>\n') end
  if m.prompt then add(('<p class="prompt">%s</p>\n'):format(escape(m.prompt))) end
  add("<dl>")
  local function fact(label, value)
    if value then add(("<dt>%s</dt><dd>%s</dd>"):format(label, escape(value))) end
  end
  fact("JobId", m.job_id)
  fact("kind", m.kind)
  fact("triangles", number_text(m.triangles))
  fact("faces asked", number_text(m.face_count))
  fact("credits", number_text(m.credits))
  add("</dl>\n<ul class=\"files\">")
  for _, f in ipairs(m.files) do
    local step = type(f.step) == "string" and (" (" .. escape(f.step) .. ")") or ""
    add(('<li><a href="%s">%s</a> %s%s%s</li>'):format(escape(url_path(f.rel)), escape(f.rel), escape(f.type),
      f.bytes and (", " .. escape(human_bytes(f.bytes))) or "", step))
  end
  if m.preview then
    add(('<li><a href="%s">%s</a> preview</li>'):format(escape(url_path(m.preview)), escape(m.preview)))
  end
  add("</ul>\n</article>\n")
  return concat(out)
end

local OPTIONS = { jobs = "table", jobs_file = "string", viewer = true, title = "string", cwd = "string",
                  getenv = "function", inspect = true }

--- Writes DIR/index.html, the gallery of the models the job record saved in DIR, and its assets in
-- DIR/.hy3d-gallery/ (the viewer and one script per GLB). opts: jobs (a list of records in the shape
-- of hy3d.jobs' read: job_id, files (absolute paths), name, prompt, kind, credits, face_count; default:
-- the record at jobs_file, else hy3d.jobs.default_path()), viewer (the path of model-viewer-umd.min.js;
-- false: no 3D views; default HY3D_MODEL_VIEWER, else the installed copy), title, cwd (what a relative
-- dir is relative to; default PWD), inspect (a function(path) giving { triangles }, or false; default
-- hy3d.inspect when present). Returns { path, models, glbs (models with a GLB), viewer (the viewer
-- file used, or nil), no_preview (JobIds without a preview image) } or nil, err.
-- @tparam string dir the folder of the models
-- @tparam[opt] table opts jobs, jobs_file, viewer, title, cwd, inspect
-- @treturn[1] table { path, models, glbs, viewer, no_preview }
-- @treturn[2] nil
-- @treturn[2] Error err
function M.write(dir, opts)
  if type(dir) ~= "string" or dir == "" then error("hy3d.gallery: expects a folder path", 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("hy3d.gallery: opts must be a table", 2) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error(("hy3d.gallery: unknown option %s"):format(tostring(k)), 2) end
    if want ~= true and type(v) ~= want then error(("hy3d.gallery: %s must be a %s"):format(k, want), 2) end
  end
  if opts.viewer ~= nil and opts.viewer ~= false and type(opts.viewer) ~= "string" then
    error("hy3d.gallery: viewer must be a file path or false", 2)
  end
  if dir:find("%z") then return fail("GALLERY_DIR", "the folder name holds a NUL byte") end
  local getenv = opts.getenv or os.getenv
  local abs = dir
  if abs:sub(1, 1) ~= "/" then
    local cwd = opts.cwd or getenv("PWD")
    if type(cwd) ~= "string" or cwd:sub(1, 1) ~= "/" then
      return fail("GALLERY_DIR", "cannot tell where " .. dir .. " is: give an absolute path (PWD is not set)")
    end
    abs = cwd .. "/" .. abs
  end
  abs = normal(abs)
  if not exists(abs .. "/.") then
    return fail("GALLERY_DIR", (exists(abs) and "%s is not a folder" or "no folder %s"):format(dir))
  end
  local list = opts.jobs
  if not list then
    local path, perr = opts.jobs_file, nil
    if not path then path, perr = jobs.default_path(getenv) end
    if not path then return fail("NO_RECORD", perr) end
    local rerr
    list, rerr = jobs.open(path):read()
    if not list then return fail("RECORD_UNREADABLE", ("cannot read %s: %s"):format(path, tostring(rerr))) end
  end
  local inspect = opts.inspect
  if inspect == nil then inspect = default_inspect() end
  local models = collect(list, abs, { inspect = inspect or nil })
  local viewer_src = opts.viewer
  if viewer_src == nil then viewer_src = find_viewer(getenv) end
  local assets = abs .. "/" .. M.ASSETS
  local viewer
  local glbs = 0
  for _, m in ipairs(models) do
    if m.glb then glbs = glbs + 1 end
  end
  local any_glb = glbs > 0
  if viewer_src and any_glb then
    local js = read_all(viewer_src)
    if not js then return fail("NO_VIEWER", ("cannot read the model viewer %s"):format(viewer_src)) end
    local ok, merr = files.mkdirs(assets)
    if not ok then return nil, merr end
    ok, merr = write_file(assets .. "/" .. M.VIEWER_NAME, js)
    if not ok then return nil, merr end
    viewer = viewer_src
  end
  local cards, no_preview, credits, wrapped = {}, {}, 0, {}
  for _, m in ipairs(models) do
    local key
    if viewer and m.glb then
      key = core.sha256(m.glb.rel, "hex"):sub(1, 24)
      wrapped[#wrapped + 1] = key .. ".js"
      local data = read_all(m.glb.path)
      if not data then return fail("GALLERY_READ", ("cannot read %s"):format(m.glb.path)) end
      local ok, werr = write_file(assets .. "/" .. key .. ".js",
        ('hy3dGallery.model("%s","%s");\n'):format(key, core.base64_encode(data)))
      if not ok then return nil, werr end
    end
    if not m.preview then no_preview[#no_preview + 1] = m.job_id end
    if type(m.credits) == "number" and m.credits == m.credits and m.credits < math.huge then
      credits = credits + m.credits
    end
    cards[#cards + 1] = card(m, key, viewer)
  end
  local title = opts.title or ("hy3d gallery: " .. (abs:match("([^/]+)$") or abs))
  local html = {
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    "<meta name=\"generator\" content=\"hy3d gallery\">\n",
    "<title>", escape(title), "</title>\n<style>\n", CSS, "</style>\n",
    viewer and ('<script src="%s/%s"></script>\n'):format(M.ASSETS, M.VIEWER_NAME) or "",
    "<script>\n", SCRIPT, "</script>\n</head>\n<body>\n<header><h1>", escape(title), "</h1>\n<p>",
    ("%d model%s"):format(#models, #models == 1 and "" or "s"),
    credits > 0 and (", " .. escape(number_text(credits)) .. " credits") or "",
    (viewer or not any_glb or viewer_src == false) and "" or ", 3D views left out: no model viewer installed",
    "</p></header>\n<main>\n", concat(cards),
    #models == 0 and "<p>No models: the job record lists no file in this folder.</p>\n" or "",
    "</main>\n</body>\n</html>\n",
  }
  local path = abs .. "/index.html"
  local ok, werr = write_file(path, concat(html))
  if not ok then return nil, werr end
  -- the wrappers the last page used and this one does not (a model gone from the record) are removed:
  -- the list of them is kept in the folder; only names of the wrappers' form are ever removed
  local manifest = assets .. "/wrapped.txt"
  local keep = {}
  for _, name in ipairs(wrapped) do keep[name] = true end
  for name in (read_all(manifest) or ""):gmatch("[^\n]+") do
    if name:match("^%x+%.js$") and not keep[name] then os.remove(assets .. "/" .. name) end
  end
  if #wrapped > 0 then
    ok, werr = write_file(manifest, concat(wrapped, "\n") .. "\n")
    if not ok then return nil, werr end
  elseif exists(manifest) then
    os.remove(manifest)
  end
  return { path = path, models = #models, glbs = glbs, viewer = viewer, no_preview = no_preview }
end

return M
