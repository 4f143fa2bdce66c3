-- hy3d.sandbox.families in-process: --family parsed, the families option checked, a configured family's
-- actions found beside the catalogue's, its jobs' files, and what /_sandbox/reset keeps.
local sandbox = require "hy3d.sandbox"
local families = require "hy3d.sandbox.families"
local actions = require "hy3d.sandbox.actions"

local SUBMIT, QUERY = "SubmitCharacterToAnimationJob", "DescribeCharacterToAnimationJob"

local function parse(argv)
  return sandbox.parse_args(argv, function() end)
end

describe("hy3d.sandbox.families", function()
  it("parses NAME=SUBMIT,QUERY[,TYPE...] and --family, repeatable", function()
    assert.same({ name = "animation", submit = SUBMIT, query = QUERY },
      families.parse("animation=" .. SUBMIT .. "," .. QUERY))
    assert.same({ name = "a", submit = "SubmitAJob", query = "DescribeAJob", results = { "GLB", "GIF" } },
      families.parse(" a = SubmitAJob, DescribeAJob, glb, GIF "))
    assert.is_nil(families.parse("animation"))
    assert.is_nil(families.parse("animation=SubmitAJob"))
    local cfg = assert(parse { "--family", "a=SubmitAJob,DescribeAJob", "--family", "b=SubmitBJob,DescribeBJob,FBX" })
    assert.equal(2, #cfg.families)
    local _, err = parse { "--family", "a" }
    assert.matches("^%-%-family: ", err)
  end)

  it("serves a configured family's actions beside the catalogue's, with the files it was given", function()
    local sb = sandbox.new { families = { { name = "animation", submit = SUBMIT, query = QUERY, results = { "FBX", "GIF" } } } }
    assert.same({ name = SUBMIT, family = "animation", role = "submit" }, sb:action_of(SUBMIT))
    assert.equal("query", sb:action_of(QUERY).role)
    assert.equal(actions.ACTIONS.SubmitHunyuanTo3DProJob, sb:action_of("SubmitHunyuanTo3DProJob"))
    assert.is_nil(sb:action_of("SubmitNothingJob"))
    assert.is_nil(actions.validate(sb:action_of(SUBMIT), { Anything = { 1, 2 } }, {}))
    assert.same({ { "FBX", "model.fbx" }, { "GIF", "model.gif" } }, actions.result_files("animation", {}, sb.cfg))
    assert.is_nil(sandbox.new():action_of(SUBMIT))            -- per sandbox, not per process
  end)

  it("refuses a family that clashes or is malformed, saying why", function()
    local cases = {
      { { name = "pro", submit = "SubmitAJob", query = "DescribeAJob" }, "of the catalogue already" },
      { { name = "Anim", submit = "SubmitAJob", query = "DescribeAJob" }, "lowercase identifier" },
      { { name = "a", submit = "SubmitHunyuanTo3DProJob", query = "DescribeAJob" }, "exists already" },
      { { name = "a", submit = "Submit-A", query = "DescribeAJob" }, "letters and digits" },
      { { name = "a", submit = "SubmitAJob", query = "SubmitAJob" }, "must differ" },
      { { name = "a", submit = "SubmitAJob", query = "DescribeAJob", results = { "EXE" } }, "EXE is not a file type" },
      { { name = "a", submit = "SubmitAJob", query = "DescribeAJob", results = {} }, "results is a list" },
      { { name = "a", submit = "SubmitAJob", query = "DescribeAJob", kind = "x" }, "not kind" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(sandbox.new, { families = { c[1] } })
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
    local sb = sandbox.new { families = { { name = "a", submit = "SubmitAJob", query = "DescribeAJob" } } }
    local f, err = sb:add_family { name = "a", submit = "SubmitA2Job", query = "DescribeA2Job" }
    assert.is_nil(f)
    assert.matches("configured already", err, 1, true)
    f, err = sb:add_family { name = "b", submit = "SubmitAJob", query = "DescribeBJob" }
    assert.is_nil(f)
    assert.matches("SubmitAJob exists already", err, 1, true)
  end)

  it("drops on reset the families added through the control endpoint, keeping the configured ones", function()
    local sb = sandbox.new { families = { { name = "a", submit = "SubmitAJob", query = "DescribeAJob" } } }
    assert(sb:add_family({ name = "b", submit = "SubmitBJob", query = "DescribeBJob" }, true))
    assert.equal(2, #sb:family_list())
    sb:drop_control_families()
    local list = sb:family_list()
    assert.equal(1, #list)
    assert.equal("a", list[1].name)
    assert.is_nil(sb:action_of("SubmitBJob"))
    assert.is_table(sb:action_of("SubmitAJob"))
  end)
end)
