-- What `make fuzz` (fuzz/request.c, fuzz/response.c, fuzz/answer.c) found, kept as plain regression tests so every
-- Lua version checks them on every run. The inputs that found them are in fuzz/corpus/*/regress-*.
local core = require "hy3d.core"

local function sign(fields)
  local t = { secret_id = "AKIDfuzz", secret_key = "fuzz-key", payload = "{}", host = "example.com",
              timestamp = 1700000000 }
  for k, v in pairs(fields) do t[k] = v end
  return pcall(core.tc3_sign, t)
end

describe("fuzz findings", function()
  -- tc3_sign used these three as C strings: "AK\0ID" signed as "AK", "ai\0x" as "ai", and
  -- "host\0;x-tc-action" as "host" alone (fuzz/corpus/request/regress-tc3-nul-in-secret-id)
  it("tc3_sign refuses a NUL byte in secret_id, service and signed_headers instead of signing less", function()
    for field, value in pairs { secret_id = "AK\0ID", service = "ai\0x", signed_headers = "host\0;x-tc-action" } do
      local ok, err = sign { [field] = value }
      assert.is_false(ok, field)
      assert.matches("field '" .. field .. "' contains a NUL byte", err)
    end
    -- the fields that are counted by length still take any byte
    local ok, auth = sign { payload = "a\0b", host = "h\0st", content_type = "x\0y", secret_key = "k\0ey" }
    assert.is_true(ok, auth)
    assert.matches("^TC3%-HMAC%-SHA256 Credential=AKIDfuzz/", auth)
  end)

  -- engine:request compared its method as a C string: "GET\0Z" was taken as GET
  -- (fuzz/corpus/request/regress-method-nul)
  it("engine:request refuses a method with a NUL byte instead of reading it as GET or POST", function()
    local e = core.new { base_url = "http://127.0.0.1:1" }
    for _, m in ipairs { "GET\0Z", "POST\0", "GE" } do
      local ok, err = pcall(e.request, e, m, "/")
      assert.is_false(ok, m)
      assert.matches('the method is "GET" or "POST"', err, 1, true)
    end
    local req = assert(e:request("GET", "/"))
    req:close()
    e:close()
  end)
end)
