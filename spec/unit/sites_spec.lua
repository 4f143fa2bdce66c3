-- hy3d.sites: the sites as data, a door's table on a site, families resolved through it, and the fields a site refuses.
local sites = require "hy3d.sites"
local doors = require "hy3d.doors"
local families = require "hy3d.families"
local options = require "hy3d.options"

describe("hy3d.sites", function()
  it("gives the door's own table on the mainland, and an overlay of it on intl", function()
    assert.equal(doors.api3, sites.door("api3"))
    assert.equal(doors.api3, sites.door("api3", "mainland"))
    local d = assert(sites.door("api3", "intl"))
    assert.equal(d, sites.door("api3", "intl"))             -- one table per door and site
    assert.equal("intl", d.site)
    assert.equal("api3", d.name)
    assert.equal("pair", d.credentials)                     -- read through to the door
    assert.equal("hunyuan", d.service)
    assert.equal("2023-09-01", d.version)
    assert.equal("ap-singapore", d.region)
    assert.equal("https://hunyuan.intl.tencentcloudapi.com", d.url)
    assert.equal("ai3d", doors.api3.service)                -- the mainland's untouched
  end)

  it("says which doors have a site when one does not", function()
    local d, why = sites.door("gateway", "intl")
    assert.is_nil(d)
    assert.matches("the gateway door has no intl site %(site \"intl\" is offered by: api3, tokenhub, mps%)", why)
    d, why = sites.door("local", "intl")
    assert.is_nil(d)
    assert.matches("the local door has no intl site (site \"intl\" is offered by: api3, tokenhub, mps)", why, 1, true)
    assert.is_nil(sites.door("nope", "intl"))
  end)

  it("has TokenHub's intl site from the door's own sites table: the Singapore origin", function()
    local d = assert(sites.door("tokenhub", "intl"))
    assert.same({ "intl", "tokenhub", "https://tokenhub-intl.tencentmaas.com" }, { d.site, d.name, d.url })
    assert.equal("https://tokenhub.tencentmaas.com", doors.get("tokenhub").url)   -- the mainland's untouched
  end)

  it("has MPS's intl site from the door's own sites table: another host, the same service, no region", function()
    local d = assert(sites.door("mps", "intl"))
    assert.equal("intl", d.site)
    assert.equal("mps", d.name)
    assert.equal("https://mps.intl.tencentcloudapi.com", d.url)
    assert.equal("mps", d.service)
    assert.equal("2019-06-12", d.version)
    assert.is_false(d.region)
    assert.equal(doors.mps.check, d.check)                  -- the door's hooks, read through
    assert.equal("https://mps.tencentcloudapi.com", doors.mps.url)
    -- its families are its own on both sites: texture too, which API 3.0's intl site lacks
    assert.equal("SubmitTextureTo3DJob", families.resolve("texture", d).submit)
    local a, err = families.resolve("texture_edit", d)
    assert.is_nil(a)
    assert.equal("KIND_NOT_ON_DOOR", err.code)
    a, err = families.resolve("texture", sites.door("api3", "intl"))
    assert.is_nil(a)
    assert.equal("KIND_NOT_ON_SITE", err.code)
    local s = options.settings { door = "mps", site = "intl", secret_id = "AKIDxxxxxxxxxxxx", secret_key = "yyyyyyyyyyyyyyyy" }
    assert.equal("https://mps.intl.tencentcloudapi.com", s.base_url)
    assert.equal(d, s.door_impl)
  end)

  it("resolves families through the site: renamed, missing and its own", function()
    local d = sites.door("api3", "intl")
    assert.same({ submit = "Submit3DSmartTopologyJob", query = "Describe3DSmartTopologyJob" },
      (families.resolve("reduce_face", d)))
    assert.equal(families.actions.pro.submit, families.resolve(nil, d).submit)
    assert.equal("SubmitConvert3DFormatJob", families.resolve("convert_job", d).submit)
    local a, err = families.resolve("motion", d)
    assert.is_nil(a)
    assert.equal("KIND_NOT_ON_SITE", err.code)
    assert.matches("the intl site does not offer kind \"motion\"", err.message)
    a, err = families.resolve("texture_edit", "api3")
    assert.is_nil(a)
    assert.equal("KIND_NOT_ON_SITE", err.code)
    assert.matches("only on the intl site", err.message)
    a, err = families.resolve("chair", d)
    assert.is_nil(a)
    assert.equal("UNKNOWN_KIND", err.code)
  end)

  it("keeps which site has a family in hy3d.kinds, and a site's own names for built-in families only", function()
    local d = sites.door("api3", "intl")
    assert.equal("SubmitReduceFaceJob", families.actions.reduce_face.submit)   -- the registry keeps the mainland's
    local kinds = require("hy3d").kinds
    kinds.register { name = "spec_intl_only", submit = "SubmitSpecJob", query = "DescribeSpecJob", sites = { "intl" } }
    assert.equal("SubmitSpecJob", families.resolve("spec_intl_only", d).submit)
    local a, err = families.resolve("spec_intl_only", "api3")
    assert.is_nil(a)
    assert.equal("KIND_NOT_ON_SITE", err.code)
    assert.same({ "intl" }, kinds.get("spec_intl_only").sites)
    kinds.spec_intl_only = nil
    kinds.register { name = "spec_everywhere", submit = "SubmitSpecJob", query = "DescribeSpecJob" }
    assert.equal("SubmitSpecJob", families.resolve("spec_everywhere", d).submit)
    kinds.spec_everywhere = nil
    assert.has_error(function()
      kinds.register { name = "spec_bad", submit = "SubmitSpecJob", query = "DescribeSpecJob", sites = { "mars" } }
    end, "hy3d.kinds.register: sites[1] (\"mars\") is not a site (sites: mainland, intl)")
    local builtin = kinds.reduce_face
    kinds.register { name = "reduce_face", submit = "SubmitMyReduceJob", query = "DescribeMyReduceJob", replace = true }
    assert.equal("SubmitMyReduceJob", families.resolve("reduce_face", d).submit)   -- replaced: its own names
    kinds.reduce_face = builtin
    assert.equal("Submit3DSmartTopologyJob", families.resolve("reduce_face", d).submit)
  end)

  it("refuses the fields a site's action does not take, naming site and field", function()
    local d = sites.door("api3", "intl")
    local err = sites.check(d, "pro", { Prompt = "x", ResultFormat = "STL" })
    assert.equal("invalid", err.kind)
    assert.equal("NOT_ON_SITE", err.code)
    assert.equal("ResultFormat", err.field)
    assert.matches("the intl site's pro jobs take no ResultFormat", err.message)
    assert.equal("Model", sites.check(d, "part", { Model = "1.5" }).field)
    assert.is_nil(sites.check(d, "pro", { Prompt = "x" }))
    assert.is_nil(sites.check(doors.api3, "pro", { ResultFormat = "STL" }))
  end)

  it("is chosen by hy3d.new's site option, with the door's own values still overridable", function()
    local s = options.settings { site = "intl", secret_id = "AKIDxxxxxxxx", secret_key = "yyyyyyyyyyyy" }
    assert.equal("intl", s.site)
    assert.equal("https://hunyuan.intl.tencentcloudapi.com", s.base_url)
    assert.equal("hunyuan", s.transport.engine.tc3.service)
    assert.equal("2023-09-01", s.transport.engine.tc3.version)
    assert.equal(sites.door("api3", "intl"), s.transport.door_impl)
    s = options.settings { site = "intl", secret_id = "AKIDxxxxxxxx", secret_key = "yyyyyyyyyyyy", service = "ai3d",
                           version = "2025-05-13", region = "na-siliconvalley", endpoint = "https://example.com" }
    assert.equal("ai3d", s.transport.engine.tc3.service)
    assert.equal("2025-05-13", s.transport.engine.tc3.version)
    assert.equal("na-siliconvalley", s.region)
    assert.equal("https://example.com", s.base_url)
    local ok, err = pcall(options.settings, { site = "Intl " })
    assert.is_false(ok)
    assert.matches("site must be one of mainland, intl, got \"Intl\"", err)
  end)
end)
