-- hy3d.core signing primitives (src/hy3d_sign.c): TC3-HMAC-SHA256, SHA-256, HMAC-SHA256, base64.
local core = require "hy3d.core"

-- The worked example of the reference's §4.1 (fake credentials).
local VECTOR = {
  secret_id = "AKIDEXAMPLEEXAMPLEEXAMPLE",
  secret_key = "EXAMPLESECRETKEYEXAMPLESECRETKEY",
  timestamp = 1767225600,
  host = "ai3d.tencentcloudapi.com",
  payload = '{"JobId":"1357237233311637504"}',
}

local function copy(t, extra)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

describe("hy3d.core signing", function()
  describe("tc3_sign", function()
    it("reproduces the reference test vector step by step", function()
      local auth, steps = core.tc3_sign(VECTOR)
      assert.equal("4d4813b5eac3fd81202b871343a2902611edf30667219fc09b37655caedb902c", steps.hashed_payload)
      assert.equal("POST\n/\n\ncontent-type:application/json\nhost:ai3d.tencentcloudapi.com\n\ncontent-type;host\n"
        .. "4d4813b5eac3fd81202b871343a2902611edf30667219fc09b37655caedb902c", steps.canonical_request)
      assert.equal("d542bb4d771c1dcc1c8712479e21c579564c23a67d47e88cdf2781cab9340c83",
        core.sha256(steps.canonical_request, "hex"))
      assert.equal("TC3-HMAC-SHA256\n1767225600\n2026-01-01/ai3d/tc3_request\n"
        .. "d542bb4d771c1dcc1c8712479e21c579564c23a67d47e88cdf2781cab9340c83", steps.string_to_sign)
      assert.equal("2026-01-01", steps.date)
      assert.equal("adb56e73a3ebf08ff853ee6b5f6ef0b82852fcfe9c0d640f51554d111662b911", steps.signature)
      assert.equal("TC3-HMAC-SHA256 Credential=AKIDEXAMPLEEXAMPLEEXAMPLE/2026-01-01/ai3d/tc3_request, "
        .. "SignedHeaders=content-type;host, Signature=adb56e73a3ebf08ff853ee6b5f6ef0b82852fcfe9c0d640f51554d111662b911",
        auth)
    end)

    it("derives the key chain of the reference (kDate, kService, kSigning)", function()
      local kdate = core.hmac_sha256("TC3" .. VECTOR.secret_key, "2026-01-01")
      assert.equal("6c6d54ee6db31083e194ca150cd6d4828eda83507b4b36b04cee7826cb63dc11",
        core.hmac_sha256("TC3" .. VECTOR.secret_key, "2026-01-01", "hex"))
      local kservice = core.hmac_sha256(kdate, "ai3d")
      assert.equal("3dc4d8f28794d8d0ce272ddd7185da10f479296788a7aaf21dccbd6e255f81e4",
        core.hmac_sha256(kdate, "ai3d", "hex"))
      assert.equal("a967613b748eca7b78084200c08807cd13d744c36f2944f945976e901e3e8cf7",
        core.hmac_sha256(kservice, "tc3_request", "hex"))
    end)

    it("signs extra headers sorted, with trimmed lowercase values", function()
      local _, steps = core.tc3_sign(copy(VECTOR, {
        signed_headers = "X-TC-Action;host;content-type",
        headers = { ["x-tc-action"] = "  QueryHunyuanTo3DProJob " },
      }))
      assert.equal("content-type;host;x-tc-action", steps.signed_headers)
      assert.matches("\nhost:ai3d.tencentcloudapi.com\nx%-tc%-action:queryhunyuanto3dprojob\n\n", steps.canonical_request)
      assert.are_not.equal("adb56e73a3ebf08ff853ee6b5f6ef0b82852fcfe9c0d640f51554d111662b911", steps.signature)
    end)

    it("hashes the literal UNSIGNED-PAYLOAD when asked", function()
      local _, steps = core.tc3_sign(copy(VECTOR, { unsigned_payload = true }))
      assert.equal(core.sha256("UNSIGNED-PAYLOAD", "hex"), steps.hashed_payload)
    end)

    it("changes the signature with the date, the key and every payload byte", function()
      local _, base = core.tc3_sign(VECTOR)
      local _, later = core.tc3_sign(copy(VECTOR, { timestamp = VECTOR.timestamp + 86400 }))
      assert.equal("2026-01-02", later.date)
      local _, other_key = core.tc3_sign(copy(VECTOR, { secret_key = "x" .. VECTOR.secret_key }))
      local _, other_body = core.tc3_sign(copy(VECTOR, { payload = VECTOR.payload .. " " }))
      for _, s in ipairs { later, other_key, other_body } do assert.are_not.equal(base.signature, s.signature) end
    end)

    it("computes UTC dates across leap years and centuries", function()
      local cases = { [0] = "1970-01-01", [951782400] = "2000-02-29", [4107456000] = "2100-02-28", [4107542400] = "2100-03-01",
                      [1709164800] = "2024-02-29", [253402300799] = "9999-12-31" }
      for ts, date in pairs(cases) do
        local _, steps = core.tc3_sign(copy(VECTOR, { timestamp = ts }))
        assert.equal(date, steps.date)
      end
    end)

    it("rejects bad input with errors that name the field, never the secret", function()
      local bad = {
        { secret_key = false }, { secret_id = "" }, { timestamp = -1 }, { timestamp = 1.5 },
        { timestamp = "now" }, { payload = 42 }, { signed_headers = "host;;content-type" },
        { signed_headers = "host;x-tc-action" }, { headers = "x" }, { service = "a/b" },
      }
      for _, b in ipairs(bad) do
        local ok, err = pcall(core.tc3_sign, copy(VECTOR, b))
        assert.is_false(ok)
        assert.matches("^tc3_sign: ", err)
        assert.not_matches(VECTOR.secret_key, err, 1, true)
      end
      assert.has_error(function() core.tc3_sign("x") end)
    end)
  end)

  describe("sha256 and hmac_sha256", function()
    it("match the FIPS 180-2 and RFC 4231 vectors", function()
      assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256("abc", "hex"))
      assert.equal(32, #core.sha256(""))
      assert.equal("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        core.hmac_sha256(("\11"):rep(20), "Hi There", "hex"))
      assert.has_error(function() core.sha256("x", "base32") end)
    end)
  end)

  describe("base64", function()
    it("round-trips every byte value and lengths around the chunk size", function()
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      all = table.concat(all)
      for _, n in ipairs { 0, 1, 2, 3, 255, 3071, 3072, 3073, 10000 } do
        local s = all:rep(math.floor(n / 256) + 1):sub(1, n)
        assert.equal(s, core.base64_decode(core.base64_encode(s)))
      end
      assert.equal("aGVsbG8gd29ybGQ=", core.base64_encode("hello world"))
    end)

    it("decodes with or without padding and line breaks", function()
      assert.equal("hello world", core.base64_decode("aGVsbG8g\nd29ybGQ="))
      assert.equal("hi", core.base64_decode("aGk="))
    end)

    it("returns nil and a message for data that is not base64", function()
      for _, s in ipairs { "a$$b", "not base64!", "====" } do
        local v, err = core.base64_decode(s)
        assert.is_nil(v)
        assert.equal("invalid base64 data", err)
      end
    end)
  end)
end)
