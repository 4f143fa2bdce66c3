-- hy3d.families: the job families (the public `kind`), their actions, which door has them, and what pro and rapid make.
local families = require "hy3d.families"

describe("hy3d.families", function()
  it("names each family's Submit and Query/Describe action, shared as hy3d.kinds", function()
    assert.same({ submit = "SubmitHunyuanTo3DProJob", query = "QueryHunyuanTo3DProJob" }, families.actions.pro)
    assert.equal("DescribeAutoRiggingJob", families.actions.rigging.query)
    assert.equal(families.actions, require("hy3d").kinds)
    for name, a in pairs(families.actions) do
      assert.matches("^Submit", a.submit, name)
      assert.matches("^[QD]", a.query, name)
    end
  end)

  it("lists the families sorted, the nine built-in ones marked", function()
    local names = families.names()
    local builtin = 0
    for _, name in ipairs(names) do
      if families.get(name).builtin then builtin = builtin + 1 end
    end
    assert.equal(9, builtin)
    for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
    assert.same(names, require("hy3d").kinds.list())
  end)

  it("resolves a family on a door, pro by default", function()
    local a, name = families.resolve(nil, "gateway")
    assert.equal(families.actions.pro, a)
    assert.equal("pro", name)
    a, name = families.resolve("rapid", "api3")
    assert.equal(families.actions.rapid, a)
    assert.equal("rapid", name)
  end)

  it("refuses an unknown family, and all but pro on the gateway", function()
    local a, err = families.resolve("chair", "api3")
    assert.is_nil(a)
    assert.equal("UNKNOWN_KIND", err.code)
    assert.matches("motion, part, pro", err.message, 1, true)
    a, err = families.resolve("rapid", "gateway")
    assert.is_nil(a)
    assert.equal("KIND_NEEDS_API3", err.code)
  end)

  it("reads a job's family from the options first, then the job table", function()
    assert.equal("uv", families.of({ kind = "rapid" }, { kind = "uv" }))
    assert.equal("rapid", families.of({ kind = "rapid" }, {}))
    assert.is_nil(families.of("123", {}))
  end)

  describe("deliverable", function()
    it("passes formats the job makes, {\"all\"} and families it does not know", function()
      local p = { Prompt = "x" }
      assert.equal(p, families.deliverable("pro", p, { "GLB", "obj" }))
      assert.equal(p, families.deliverable("pro", p, { "all" }))
      assert.equal(p, families.deliverable("uv", p, { "STL" }))
    end)
    it("asks for one missing format through ResultFormat, on a copy", function()
      local p = { Prompt = "x" }
      local q = families.deliverable("pro", p, { "GLB", "STL" })
      assert.are_not.equal(p, q)
      assert.equal("STL", q.ResultFormat)
      assert.is_nil(p.ResultFormat)
      assert.equal("GLB", families.deliverable("rapid", p, { "GLB" }).ResultFormat)
    end)
    it("refuses what the job cannot make", function()
      local q, err = families.deliverable("pro", { Prompt = "x", GenerateType = "Geometry" }, { "OBJ" })
      assert.is_nil(q)
      assert.equal("FORMAT_NOT_REQUESTED", err.code)
      q, err = families.deliverable("rapid", { Prompt = "x", ResultFormat = "STL" }, { "GLB" })
      assert.is_nil(q)
      assert.matches("with ResultFormat STL", err.message, 1, true)
    end)
  end)

  describe("the registry (hy3d.kinds)", function()
    local kinds = families.actions
    local SUBMIT, QUERY = "SubmitCharacterToAnimationJob", "DescribeCharacterToAnimationJob"
    after_each(function()
      kinds.animation, kinds.other = nil, nil
    end)

    it("holds the families only: register, list and get come from its metatable", function()
      for name, entry in pairs(kinds) do
        assert.is_table(entry, name)
        assert.is_string(entry.submit, name)
      end
      assert.is_function(kinds.register)
      assert.is_nil(rawget(kinds, "register"))
      local a, err = families.resolve("register", "api3")
      assert.is_nil(a)
      assert.equal("UNKNOWN_KIND", err.code)
    end)

    it("registers a family: in the table, the list and get, resolved on its doors", function()
      local entry = kinds.register { name = "animation", submit = SUBMIT, query = QUERY, doors = { "api3" } }
      assert.equal(entry, kinds.animation)
      assert.same({ submit = SUBMIT, query = QUERY, doors = { "api3" } }, entry)
      local listed = 0
      for _, v in ipairs(kinds.list()) do if v == "animation" then listed = listed + 1 end end
      assert.equal(1, listed)
      local got = kinds.get("animation")
      assert.same({ name = "animation", submit = SUBMIT, query = QUERY, doors = { "api3" }, builtin = false }, got)
      got.doors[1] = "gateway"                    -- a copy
      assert.equal("api3", kinds.animation.doors[1])
      local a, name = families.resolve("animation", "api3")
      assert.equal(entry, a)
      assert.equal("animation", name)
      local _, err = families.resolve("animation", "gateway")
      assert.equal("KIND_NEEDS_API3", err.code)
      assert.is_nil(kinds.get("nothing"))
      assert.is_nil(kinds.get("register"))
    end)

    it("is called with a dot or a colon", function()
      kinds:register { name = "other", submit = "SubmitOtherJob", query = "DescribeOtherJob" }
      assert.equal("SubmitOtherJob", kinds:get("other").submit)
      assert.same(kinds.list(), kinds:list())
    end)

    it("refuses a registered family on a door outside its list", function()
      local doors = require "hy3d.doors"
      local get = doors.get
      finally(function() doors.get = get end)
      kinds.register { name = "animation", submit = SUBMIT, query = QUERY, doors = { "api3" } }
      doors.get = function(n) return n == "intl" and { name = "intl" } or get(n) end
      local a, err = families.resolve("animation", "intl")
      assert.is_nil(a)
      assert.equal("KIND_NOT_ON_DOOR", err.code)
      assert.matches('kind "animation" is registered for the api3 door only', err.message, 1, true)
      kinds.register { name = "other", submit = "SubmitOtherJob", query = "DescribeOtherJob" }
      assert.is_table(families.resolve("other", "intl"))         -- no list: every door that takes any action
    end)

    it("passes a registered family's parameters through validation and generate's check", function()
      kinds.register { name = "animation", submit = SUBMIT, query = QUERY }
      local p = { Prompt = 12, Whatever = { true } }
      assert.is_nil(require("hy3d.validate").check("animation", p))
      assert.equal(p, families.deliverable("animation", p, { "GLB" }))
    end)

    it("downloads every file of a registered family by default, GLB of the others", function()
      kinds.register { name = "animation", submit = SUBMIT, query = QUERY }
      assert.same({ "all" }, families.default_formats("animation"))
      assert.same({ "GLB" }, families.default_formats(nil))
      assert.same({ "GLB" }, families.default_formats("rigging"))
      assert.same({ "GLB" }, families.default_formats("nothing"))
      local saved = kinds.pro
      finally(function() kinds.pro = saved end)
      kinds.register { name = "pro", submit = "SubmitPro2Job", query = "QueryPro2Job", replace = true }
      assert.same({ "all" }, families.default_formats(nil))
    end)

    it("replaces a family only when told, a built-in one then no longer marked built-in", function()
      local saved = kinds.part
      finally(function() kinds.part = saved end)
      assert.has_error(function() kinds.register { name = "part", submit = "SubmitPart2Job", query = "QueryPart2Job" } end,
        'hy3d.kinds.register: "part" is already a built-in family (replace = true replaces it)')
      kinds.register { name = "part", submit = "SubmitPart2Job", query = "QueryPart2Job", replace = true }
      assert.equal("SubmitPart2Job", families.resolve("part", "api3").submit)
      assert.is_false(kinds.get("part").builtin)
      kinds.part = saved                          -- the built-in entry back: built-in again
      assert.is_true(kinds.get("part").builtin)
    end)

    it("raises at the caller with the registration's fault", function()
      local ok, err = pcall(function() kinds.register { name = "Animation", submit = SUBMIT, query = QUERY } end)
      assert.is_false(ok)
      assert.matches("families_spec.lua:%d+: hy3d.kinds.register: name must be a lowercase identifier", err)
    end)
  end)
end)
