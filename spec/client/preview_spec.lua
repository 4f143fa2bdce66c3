-- download_files' and generate's "preview" format: the job's PreviewImageUrl saved beside the model, refreshed when expired.
local sandbox = require "spec.support.sandbox"

local q = sandbox.shell_quote

describe("the preview format", function()
  local sb = sandbox.suite { wait_time = 0.05, run_time = 0.1 }
  local client, dir

  setup(function()
    client = sb:client()
  end)

  before_each(function()
    dir = sandbox.tmpdir()
  end)

  after_each(function()
    os.execute("rm -rf " .. q(dir))
  end)

  it("generate with formats {GLB, preview} saves NAME.glb and NAME.png, a PNG, and asks no ResultFormat", function()
    local res = assert(client:generate("a small stool", { dir = dir, name = "stool", formats = { "GLB", "preview" },
                                                         interval = 0.05 }))
    assert.same({ "GLB", "PREVIEW" }, { res.files[1].type, res.files[2].type })
    assert.equal(dir .. "/stool.glb", res.files[1].path)
    assert.equal(dir .. "/stool.png", res.files[2].path)
    local ok, out = sandbox.run("pngcheck -q " .. q(dir .. "/stool.png"))
    assert.is_true(ok, out)
    local submit = sb:requests("submit")
    assert.is_nil(submit[#submit].body:find("ResultFormat", 1, true))
  end)

  it("refreshes an expired preview link by querying the job again", function()
    sb:config { url_ttl = 1 }
    local res = assert(client:wait(assert(client:submit { Prompt = "an expiring lamp" }), { interval = 0.05 }))
    sb:advance(2)                                     -- the sandbox's clock: past the 1 s window
    local queries = #sb:requests("query")
    local files = assert(client:download_files(res, { dir = dir, name = "lamp", formats = { "preview" } }))
    assert.equal(dir .. "/lamp.png", files[1].path)
    assert.equal(queries + 1, #sb:requests("query"))
    local ok, out = sandbox.run("pngcheck -q " .. q(files[1].path))
    assert.is_true(ok, out)
  end)

  it("is NO_SUCH_FORMAT, with nothing sent, for a result without a PreviewImageUrl", function()
    local before = #sb:requests()
    local files, err = client:download_files({ JobId = "1", Status = "DONE", kind = "pro",
      ResultFile3Ds = { { Type = "GLB", Url = sb.url .. "/files/1/model.glb" } } }, { dir = dir, formats = { "preview" } })
    assert.is_nil(files)
    assert.same({ "invalid", "NO_SUCH_FORMAT" }, { err.kind, err.code })
    assert.equal(before, #sb:requests())
  end)
end)
