-- hy3d.cli.params in process: a job's parameters from the command line, where files go, and what
-- generate's formats ask of the job; the service's values always hy3d.validate's own lists.
local params = require "hy3d.cli.params"
local validate = require "hy3d.validate"
local sandbox = require "spec.support.sandbox"

-- The options parse() would give: no views unless said.
local function opts(t)
  t = t or {}
  t.view = t.view or {}
  return t
end

describe("hy3d.cli.params", function()
  it("builds a pro job from a prompt and flags, in the service's spelling", function()
    local p = assert(params.job_params(opts { type = "lowpoly", polygon = "Quadrilateral", model = "3.1",
                                              faces = "5000", pbr = true, result_format = "stl" },
                                       { "a", "wooden", "chair" }, "pro"))
    assert.same({ Prompt = "a wooden chair", GenerateType = "LowPoly", PolygonType = "quadrilateral", Model = "3.1",
                  FaceCount = 5000, EnablePBR = true, ResultFormat = "STL" }, p)
  end)

  it("adds --param fields, JSON values read as JSON and others as strings, never twice", function()
    local p = assert(params.job_params(opts { param = { "Duration=5", 'File3D={"Type":"GLB","Url":"https://x/a.glb"}',
                                                         "Motion=wave", 'Label="7"', "Loop=true" } }, {}, "animation"))
    assert.same({ Duration = 5, File3D = { Type = "GLB", Url = "https://x/a.glb" }, Motion = "wave", Label = "7",
                  Loop = true }, p)
    for _, case in ipairs {
      { { "Duration" }, "--param needs NAME=VALUE" },
      { { "9x=1" }, "--param needs NAME=VALUE" },
      { { "A=1", "A=2" }, "--param names A twice" },
      { { "Prompt=x" }, "--param Prompt: another option (or the prompt) sets Prompt already", { "a chair" } },
      { { "Big=1e400" }, "--param Big: a number beyond what JSON carries" },
      { { "Big=[1,[2,-1e999]]" }, "--param Big: a number beyond what JSON carries" },
    } do
      local q, err = params.job_params(opts { param = case[1] }, case[3] or {}, "animation")
      assert.is_nil(q)
      assert.equal("usage", err.kind)
      assert.matches(case[2], err.message, 1, true)
    end
    local _, err = params.job_params(opts(), {}, "animation")
    assert.matches("give a prompt, or an image with --image", err.message, 1, true)
  end)

  it("takes every value hy3d.validate lists, and its message lists them all", function()
    for _, t in ipairs(validate.pro.generate) do
      assert.equal(t, params.job_params(opts { type = t:upper() }, { "x" }, "pro").GenerateType)
    end
    for _, f in ipairs(validate.pro.formats) do
      assert.equal(f, params.job_params(opts { result_format = f:lower() }, { "x" }, "pro").ResultFormat)
    end
    for _, f in ipairs(validate.rapid_formats) do
      assert.equal(f, params.job_params(opts { result_format = f }, { "x" }, "rapid").ResultFormat)
    end
    for _, case in ipairs {
      { { type = "Blocky" }, "pro", "--type is Normal, LowPoly, Geometry or Sketch" },
      { { model = "2.0" }, "pro", "--model is 3.0 or 3.1" },
      { { polygon = "hexagon" }, "pro", "--polygon is triangle or quadrilateral" },
      { { result_format = "OBJ" }, "pro", "--result-format is STL, USDZ or FBX for pro jobs" },
      { { result_format = "GIF" }, "rapid", "--result-format is OBJ, GLB, STL, USDZ, FBX or MP4 for rapid jobs" },
    } do
      local p, err = params.job_params(opts(case[1]), { "x" }, case[2])
      assert.is_nil(p)
      assert.same({ kind = "usage", message = case[3] }, err)
    end
  end)

  it("refuses a job without prompt or image, pro flags on rapid, and views without their front", function()
    for _, case in ipairs {
      { {}, {}, "pro", "give a prompt, or an image with --image" },
      { { faces = "5000" }, { "x" }, "rapid", "--faces is for pro jobs" },
      { { view = { "left=a.png" } }, { "x" }, "rapid", "--view is for pro jobs" },
      { { view = { "left=a.png" } }, { "x" }, "pro", "--view needs --image (the front view)" },
      { { view = { "left" }, image = "https://example.com/f.png" }, { "x" }, "pro", "--view needs NAME=PATH or NAME=URL" },
      { { view = { "left=https://e.com/a.png", "left=https://e.com/b.png" }, image = "https://example.com/f.png" },
        { "x" }, "pro", "--view names the same view twice" },
    } do
      local p, err = params.job_params(opts(case[1]), case[2], case[3])
      assert.is_nil(p)
      assert.equal(case[4], err.message)
    end
  end)

  it("sends an image URL as ImageUrl", function()
    local p = assert(params.job_params(opts { image = "https://example.com/chair.png" }, {}, "pro"))
    assert.same({ ImageUrl = "https://example.com/chair.png" }, p)
  end)

  it("reads -o, --dir and --format into a directory, a name and the file types", function()
    assert.same({ dir = "out", name = "chair", formats = { "GLB" } }, params.save_options { output = "out/chair.glb" })
    assert.same({ dir = "base/out", name = "chair", formats = { "OBJ" } },
      params.save_options { output = "out/chair.zip", dir = "base/" })
    assert.same({ dir = "models/" }, params.save_options { output = "models/" })
    assert.same({ name = "chair.txt" }, params.save_options { output = "chair.txt" })
    assert.same({ dir = "d", formats = { "all" }, extract = true }, params.save_options { dir = "d", format = "ALL",
                                                                                          extract = true })
    assert.same({ formats = { "GLB", "STL" } }, params.save_options { format = "glb, stl" })
    assert.equal("--format: not a file type name", select(2, params.save_options { format = "glb,!" }).message)
    assert.equal("--format needs a list of file types, e.g. glb,obj", select(2, params.save_options { format = "," })
      .message)
  end)

  it("asks the job for the files the formats need (reconcile)", function()
    local p, s = {}, {}
    assert.is_true(params.reconcile(p, s, "pro"))
    assert.same({ "GLB" }, s.formats)
    assert.is_nil(p.ResultFormat)
    p, s = {}, { formats = { "GLB", "FBX" } }
    assert.is_true(params.reconcile(p, s, "pro"))
    assert.equal("FBX", p.ResultFormat)
    p, s = {}, {}
    assert.is_true(params.reconcile(p, s, "rapid"))
    assert.equal("GLB", p.ResultFormat)
    p, s = {}, { formats = { "MP4" } }
    assert.is_true(params.reconcile(p, s, "rapid"))
    assert.equal("MP4", p.ResultFormat)
    for _, case in ipairs {
      { {}, { "STL", "FBX" }, "pro", "a pro job makes at most one of STL, USDZ and FBX" },
      { {}, { "MP4" }, "pro", "--format: a pro job makes OBJ, GLB and one of STL, USDZ and FBX (or give all)" },
      { { GenerateType = "Geometry" }, { "OBJ" }, "pro", "a Geometry job makes a GLB only" },
      { {}, { "GLB", "OBJ" }, "rapid", "a rapid job makes one file: --format OBJ, GLB, STL, USDZ, FBX, MP4 or all" },
    } do
      local ok, err = params.reconcile(case[1], { formats = case[2] }, case[3])
      assert.is_nil(ok)
      assert.equal(case[4], err.message)
    end
    assert.is_true(params.reconcile({}, { formats = { "all" } }, "rapid"))
  end)

  it("names files after a prompt or an image", function()
    assert.equal("a-wooden-chair", params.slug("  A wooden chair!  "))
    assert.is_nil(params.slug("!!!"))
    assert.equal(48, #params.slug(("word "):rep(40)))
    assert.equal("chair", params.image_name("photos/Chair.png"))
    assert.equal("stool", params.image_name("https://example.com/img/stool.webp?x=1"))
    assert.is_nil(params.image_name("data:image/png;base64,AAAA"))
  end)

  it("checks an output folder before anything is sent", function()
    local dir = sandbox.tmpdir()
    finally(function() os.execute("rm -rf '" .. dir .. "'") end)
    assert.is_true(params.check_dir(dir .. "/new/deeper"))
    sandbox.write_file(dir .. "/file", "x")
    local ok, err = params.check_dir(dir .. "/file/sub")
    assert.is_nil(ok)
    assert.equal("io", err.kind)
    assert.equal("OUTPUT_DIR", err.code)
    assert.matches("/file is not a folder$", err.message)
  end)
end)
