-- `hy3d gallery` against hy3d-sandbox, and its page rendered by the Debian chromium (headless): previews, 3D views, escaping.
-- Three models are generated with the hy3d command (two with --format glb,preview, one without);
-- the gallery is built from the job record with no request; --fetch gets the missing preview once;
-- chromium (DevTools over a pipe: spec/support/chromium.js) opens index.html from file:// and
-- reports the cards' states, console errors, the hostile prompt's fate and the screenshot's pixels.
local core = require "hy3d.core"
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"

local q = sandbox.shell_quote
local hy3d, events = cli.run, cli.events
local ROOT = os.getenv("PWD")
local VIEWER = ROOT .. "/build/model-viewer/model-viewer-umd.min.js"
local HOSTILE = [[<script>window.pwned=1</script><img src=x onerror="window.pwned=2"> & 'quotes']]

local function have(cmd)
  return (sandbox.run("command -v " .. cmd .. " >/dev/null"))
end

-- Why the browser check cannot run here, or nil.
local function browser_missing()
  if not have("chromium") then return "chromium is not installed (Debian: apt-get install chromium; in DEPS_TEST)" end
  if not have("node") then return "node is not installed (Debian: nodejs; in DEPS_TEST)" end
  if not sandbox.exists(VIEWER) then return "no " .. VIEWER .. " (make deps-viewer fetches it with npm)" end
  return nil
end

describe("hy3d gallery", function()
  local sb = sandbox.suite { wait_time = 0.1, run_time = 0.2, reset = false }
  local dir, out, env

  setup(function()
    dir = sandbox.tmpdir()
    out = dir .. "/out"
    env = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/state/jobs.jsonl",
            HY3D_MODEL_VIEWER = false }
    sb:config { gateway_credits = true }
    for _, job in ipairs {
      "'a wooden chair' --format glb,preview",
      "'a red teapot' --faces 40000",
      q(HOSTILE) .. " -o evil --format glb,preview",
    } do
      local code, _, err = hy3d("generate " .. job .. " --dir out --interval 0.05 --json", env, dir)
      assert(code == 0, err)
    end
  end)

  teardown(function()
    os.execute("rm -rf " .. q(dir))
  end)

  it("generate --format glb,preview saves the job's PreviewImageUrl as a PNG beside the model", function()
    local ok, output = sandbox.run("pngcheck -q " .. q(out .. "/a-wooden-chair.png"))
    assert.is_true(ok, output)
    assert.is_true(sandbox.exists(out .. "/a-wooden-chair.glb"))
    assert.is_false(sandbox.exists(out .. "/a-red-teapot.png"))
  end)

  it("writes DIR/index.html from the job record with no request: names, prompts, credits, relative links", function()
    local before = #sb:requests()
    local code, stdout, err = hy3d("gallery out --json --viewer none", env, dir)
    assert.equal(0, code, err)
    assert.equal(before, #sb:requests())                   -- the gallery itself needs no network
    local ev = events(stdout)
    assert.equal(1, #ev)
    assert.equal("gallery", ev[1].event)
    assert.equal(out .. "/index.html", ev[1].path)
    assert.equal(3, ev[1].models)
    assert.is_false(ev[1].viewer)
    assert.equal(1, #ev[1].no_preview)                      -- the teapot: generated without --format preview
    local html = assert(sandbox.read_file(out .. "/index.html"))
    assert.truthy(html:find('<img class="preview" src="a-wooden-chair.png"', 1, true))
    assert.truthy(html:find('<a href="a-red-teapot.glb">', 1, true))
    assert.truthy(html:find("<dt>faces asked</dt><dd>40000</dd>", 1, true))
    assert.truthy(html:find("<dt>credits</dt><dd>%d+</dd>"))
    assert.truthy(html:find("&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"
      .. " &amp; &#39;quotes&#39;", 1, true))
    assert.falsy(html:find("<script>window.pwned", 1, true))
    assert.falsy(html:find("<model-viewer", 1, true))       -- --viewer none: no 3D views
    for href in html:gmatch('href="([^"]*)"') do
      assert.falsy(href:find("^/") or href:find("%.%.") or href:find(":"), href)
    end
  end)

  it("its hint for the models with no preview names the DIR given", function()
    local code, _, err = hy3d("gallery out --text --viewer none", env, dir)
    assert.equal(0, code, err)
    assert.matches("`hy3d gallery out --fetch`", err, 1, true)
  end)

  it("--fetch downloads a missing preview once; the next run sends nothing", function()
    local before = #sb:requests()
    local code, stdout, err = hy3d("gallery out --fetch --json --viewer none", env, dir)
    assert.equal(0, code, err)
    assert.is_true(#sb:requests() > before)
    local ok, output = sandbox.run("pngcheck -q " .. q(out .. "/a-red-teapot.png"))
    assert.is_true(ok, output)
    local ev = events(stdout)
    assert.equal("gallery", ev[#ev].event)
    assert.is_nil(ev[#ev].no_preview)
    before = #sb:requests()
    code, stdout, err = hy3d("gallery out --fetch --json --viewer none", env, dir)
    assert.equal(0, code, err)
    assert.equal(1, #events(stdout))
    assert.equal(before, #sb:requests())
  end)

  it("renders in headless chromium from file://: previews drawn, every GLB loaded, no console error, no script run", function()
    local why = browser_missing()
    if why then return pending(why) end
    local code, stdout, err = hy3d("gallery out --fetch --json --viewer " .. q(VIEWER), env, dir)
    assert.equal(0, code, err)
    assert.is_true(events(stdout)[1].viewer)
    assert.is_true(sandbox.exists(out .. "/.hy3d-gallery/model-viewer-umd.min.js"))
    local shot = dir .. "/shot.png"
    -- node and chromium run without LD_PRELOAD: under `make test-asan` the sanitizer runtimes are
    -- preloaded into every child, and chromium does not start under them (neither is hy3d's code).
    local ok, output = sandbox.run(("env -u LD_PRELOAD node %s %s %s 90 2>/dev/null"):format(
      q(ROOT .. "/spec/support/chromium.js"), q("file://" .. out .. "/index.html"), q(shot)))
    local page = core.decode(output:match("^[^\n]*"))
    assert.is_true(ok, output)
    assert.is_true(page.settled, output)
    assert.same({}, page.consoleErrors)
    assert.same({}, page.exceptions)
    assert.is_true(page.viewerDefined)
    assert.equal(3, page.viewers)
    assert.same({ "loaded", "loaded", "loaded" }, page.states)
    for _, src in ipairs(page.loadedSrc) do assert.equal("blob:", src) end
    assert.equal(core.decode("null"), page.pwned)          -- neither the script nor the onerror ran
    assert.equal(0, page.injected)
    assert.equal(HOSTILE, page.prompts[3])                  -- shown as text, exactly
    assert.equal(3, #page.previews)
    for _, p in ipairs(page.previews) do
      assert.is_true(p.complete and p.naturalWidth > 0, p.src)
      assert.is_true(p.nonBackground > p.pixels / 10, p.src .. ": the preview's box is blank in the screenshot")
    end
    ok, output = sandbox.run("pngcheck -q " .. q(shot))
    assert.is_true(ok, output)
  end)

  it("refuses what it cannot do with a typed error and the command line's exit codes", function()
    local code, _, err = hy3d("gallery out other", env, dir)
    assert.equal(2, code)
    assert.matches("one DIR", err)
    code, _, err = hy3d("gallery nosuch --text", env, dir)
    assert.equal(7, code)
    assert.matches("no folder nosuch", err)
    sandbox.write_file(dir .. "/prompts.txt", "a chair\n")
    code, _, err = hy3d("gallery prompts.txt --text", env, dir)
    assert.equal(7, code)
    assert.matches("prompts.txt is not a folder", err, 1, true)
    code, _, err = hy3d("gallery out --viewer " .. q(dir .. "/missing.js") .. " --text", env, dir)
    assert.equal(7, code)
    assert.matches("cannot read the model viewer", err)
    local text
    code, text = hy3d("gallery --help", env, dir)
    assert.equal(0, code)
    assert.matches("^usage: hy3d gallery", text)
    code, text = hy3d("--help", env, dir)
    assert.equal(0, code)
    assert.matches("\n  gallery %[DIR%] ", text)
  end)
end)
