-- hy3d.cli.connect in process: which door a command uses and why, in the command line's words
-- (no client is made here; bin/hy3d's specs make them).
local connect = require "hy3d.cli.connect"

local function ctx(env)
  return { getenv = function(name) return (env or {})[name] end }
end

local choose = connect.choose_door

describe("hy3d.cli.connect", function()
  local both = { key = "sk-gateway-key", key_from = "HY3D_API_KEY", id = "AKID", secret = "a-secret-key", api3 = true }

  it("takes --door, then HY3D_DOOR, whatever is set", function()
    assert.same({ "api3", "--door api3" }, { choose(ctx(), { door = "API3" }, both) })
    assert.same({ "gateway", "HY3D_DOOR=gateway" }, { choose(ctx { HY3D_DOOR = " gateway " }, {}, both, "rapid") })
    local door, err = choose(ctx { HY3D_DOOR = "sideways" }, {}, both)
    assert.is_nil(door)
    assert.equal("usage", err.kind)
    assert.matches("^HY3D_DOOR is gateway, api3", err.message)     -- every door of hy3d.doors, by name
    assert.truthy(err.message:find("tokenhub", 1, true))
    assert.truthy(err.message:find(", local or mps", 1, true))
    assert.truthy(err.message:find(" or mps", 1, true))
    assert.same({ "gateway", "HY3D_API_KEY is set" }, { choose(ctx { HY3D_DOOR = "  " }, {}, both) })
  end)

  it("sends a kind only API 3.0 offers there, and a recorded job through its door", function()
    assert.same({ "api3", "--kind rapid" }, { choose(ctx(), {}, both, "rapid", "--kind rapid") })
    local door, why = choose(ctx(), {}, both, "pro", "x", { door = "api3", job_id = "1234" })
    assert.equal("api3", door)
    assert.equal("the job record (job 1234 was submitted through API 3.0)", why)
    local key_only = { key = "sk-gateway-key", key_from = "HY3D_API_KEY" }
    assert.same({ "gateway", "HY3D_API_KEY is set" }, { choose(ctx(), {}, key_only, "pro", "x", { door = "api3" }) })
  end)

  it("takes --door mps with the SecretId pair, and queries a job recorded there through MPS", function()
    assert.same({ "mps", "--door mps" }, { choose(ctx(), { door = "MPS" }, both) })
    assert.same({ "mps", "HY3D_DOOR=mps" }, { choose(ctx { HY3D_DOOR = "mps" }, {}, both) })
    local door, why = choose(ctx(), {}, both, "pro", "x", { door = "mps", job_id = "4deda860" })
    assert.same({ "mps", "the job record (job 4deda860 was submitted through MPS)" }, { door, why })
    door, why = choose(ctx(), {}, both, "texture", "the job record", { door = "mps", job_id = "4deda861" })
    assert.same({ "mps", "the job record (job 4deda861 was submitted through MPS)" }, { door, why })
    local key_only = { key = "sk-gateway-key", key_from = "HY3D_API_KEY" }
    assert.same({ "gateway", "HY3D_API_KEY is set" }, { choose(ctx(), {}, key_only, "pro", "x", { door = "mps" }) })
  end)

  it("falls back on the credentials that are set", function()
    assert.same({ "gateway", "--api-key is set" }, { choose(ctx(), {}, { key = "k", key_from = "--api-key" }) })
    assert.same({ "api3", "TENCENTCLOUD_SECRET_ID is set" }, { choose(ctx(), {}, { id = "AKID" }) })
    local door, err = choose(ctx(), {}, {})
    assert.is_nil(door)
    assert.equal("NO_CREDENTIALS", err.code)
    assert.equal("invalid", err.kind)
    assert.matches("set HY3D_API_KEY for the gateway, or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY", err.message)
  end)
end)
