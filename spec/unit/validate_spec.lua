-- hy3d.validate's messages point the right way: a wrong type says it is the type (never a range
-- the value "misses"), an unknown or misspelt field is named with the closest known one and the
-- fields the action has. Every field validate knows, for Pro and Rapid. Version-neutral, offline.
local validate = require "hy3d.validate"

-- Every field validate checks, per kind: the type a user must give and one right-typed value.
local FIELDS = {
  pro = {
    Model = { "string", "3.1" }, Prompt = { "string", "a chair" }, ImageBase64 = { "string", "aGk=" },
    ImageUrl = { "string", "https://e.com/a.png" }, MultiViewImages = { "list", nil },
    EnablePBR = { "boolean", true }, FaceCount = { "integer", 50000 }, GenerateType = { "string", "Normal" },
    PolygonType = { "string", "triangle" }, ResultFormat = { "string", "STL" },
  },
  rapid = {
    Prompt = { "string", "a chair" }, ImageBase64 = { "string", "aGk=" }, ImageUrl = { "string", "https://e.com/a.png" },
    ResultFormat = { "string", "GLB" }, EnablePBR = { "boolean", true }, EnableGeometry = { "boolean", true },
  },
}

-- Values of the wrong type for a field of type `want`, as a user writes them by mistake.
local function wrong_values(want, good)
  local list = {}
  if want ~= "string" then list[#list + 1] = good ~= nil and tostring(good) or "x" end   -- "50000", "true"
  if want ~= "integer" and want ~= "number" then list[#list + 1] = 3 end
  if want ~= "boolean" then list[#list + 1] = false end
  if want ~= "list" then list[#list + 1] = { 1 } end
  return list
end

local function article(want)
  return (want:match("^[aeiou]") and "an " or "a ") .. want
end

describe("validate's messages", function()
  for kind, fields in pairs(FIELDS) do
    for field, spec in pairs(fields) do
      local want, good = spec[1], spec[2]
      it(kind .. " " .. field .. ": a wrong type says the type, never a range or a list of values", function()
        for _, v in ipairs(wrong_values(want, good)) do
          local p = { Prompt = "x" }
          if field == "ImageBase64" or field == "ImageUrl" or field == "MultiViewImages" then
            p = { ImageUrl = "https://e.com/a.png" }
          end
          if field == "ImageUrl" then p = { Prompt = nil } end
          p[field] = v
          local bad = validate.check(kind, p)
          assert.is_table(bad, ("%s = %s is refused"):format(field, tostring(v)))
          assert.equal(field, bad.field)
          local m = bad.message
          assert.truthy(m:find(field .. ": must be " .. article(want), 1, true), m)
          assert.truthy(m:find("got " .. type(v), 1, true), m)
          assert.falsy(m:find("%[%d+, %d+%]"), m)        -- no range, as if the type were right
          assert.falsy(m:find("one of", 1, true), m)     -- no enum list, as if the type were right
        end
      end)
    end
  end

  it("FaceCount = \"50000\" says a string was given and an integer is expected", function()
    local bad = validate.check("pro", { Prompt = "x", FaceCount = "50000" })
    assert.equal('FaceCount: must be an integer, got string "50000"', bad.message)
  end)

  it("a view's ViewType of the wrong type says the type", function()
    local bad = validate.check("pro", { ImageUrl = "https://e.com/a.png", Model = "3.1",
                                        MultiViewImages = { { ViewType = 3, ViewImageUrl = "https://e.com/b.png" } } })
    assert.equal("MultiViewImages[1].ViewType: must be a string, got number 3", bad.message)
  end)

  it("a right type with a wrong value still says the rule", function()
    assert.equal("FaceCount: an integer in [3000, 1500000], got 100",
      validate.check("pro", { Prompt = "x", FaceCount = 100 }).message)
    assert.equal("FaceCount: an integer in [3000, 1500000], got 5000.5",
      validate.check("pro", { Prompt = "x", FaceCount = 5000.5 }).message)
    assert.matches("case matters", validate.check("pro", { Prompt = "x", GenerateType = "normal" }).message)
  end)

  it("names a lowercase or misspelt field, the closest known one and the fields of the action", function()
    for _, case in ipairs {
      { "pro", { prompt = "a chair" }, "prompt", "Prompt" },
      { "pro", { Promt = "a chair" }, "Promt", "Prompt" },
      { "pro", { Prompt = "a chair", FaceCont = 5000 }, "FaceCont", "FaceCount" },
      { "pro", { Prompt = "a chair", generateType = "LowPoly" }, "generateType", "GenerateType" },
      { "pro", { imageurl = "https://e.com/a.png" }, "imageurl", "ImageUrl" },
      { "rapid", { prompt = "a chair" }, "prompt", "Prompt" },
      { "rapid", { Prompt = "a chair", EnableGeometery = true }, "EnableGeometery", "EnableGeometry" },
    } do
      local kind, p, unknown, closest = case[1], case[2], case[3], case[4]
      local bad = validate.check(kind, p)
      assert.is_table(bad, unknown)
      assert.equal(unknown, bad.field)
      local m = bad.message
      assert.truthy(m:find("unknown field '" .. unknown .. "'", 1, true), m)
      assert.truthy(m:find("did you mean " .. closest, 1, true), m)
      for known in pairs(FIELDS[kind]) do assert.truthy(m:find(known, 1, true), known .. " listed: " .. m) end
      assert.falsy(m:find("exactly one", 1, true), m)
    end
  end)

  it("lets a field far from every known one through (Tencent adds fields; the service judges)", function()
    assert.is_nil(validate.check("pro", { Prompt = "a chair", EnableSomethingNew = true }))
  end)

  it("when no input is given, the one-of message names the unknown fields and the known ones", function()
    local bad = validate.check("pro", { Description = "a chair" })
    assert.equal("Prompt/ImageBase64/ImageUrl", bad.field)
    assert.truthy(bad.message:find("exactly one", 1, true), bad.message)
    assert.truthy(bad.message:find("'Description'", 1, true), bad.message)
    for known in pairs(FIELDS.pro) do assert.truthy(bad.message:find(known, 1, true), bad.message) end
  end)
end)
