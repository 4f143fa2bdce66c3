-- hy3d.options: option checks, credentials and the settings hy3d.new builds from them (no network).
local options = require "hy3d.options"

-- Runs fn with these environment variables unset (hy3d.options reads os.getenv).
local function without_env(fn, vars)
  local getenv = os.getenv
  os.getenv = function(name) return vars and vars[name] end   -- luacheck: ignore 122
  local ok, err = pcall(fn)
  os.getenv = getenv                     -- luacheck: ignore 122
  if not ok then error(err, 0) end
end

describe("hy3d.options", function()
  describe("check_options", function()
    it("gives one shared read-only table for nil", function()
      local a = options.check_options("x", nil, {}, 1)
      assert.equal(a, options.check_options("y", nil, {}, 1))
      assert.has_error(function() a.k = 1 end)
    end)
    it("raises on unknown names, listing the known ones sorted, and on wrong types", function()
      assert.error_matches(function() options.check_options("hy3d wait", { intervall = 1 }, options.methods.wait, 1) end,
        "unknown option 'intervall' %(known: interval, kind, on_status, timeout%)")
      assert.error_matches(function() options.check_options("hy3d wait", { interval = "1" }, options.methods.wait, 1) end,
        "option 'interval' must be a number, got string")
      assert.error_matches(function() options.check_options("hy3d wait", 5, options.methods.wait, 1) end,
        "options must be a table")
    end)
    it("returns the options it accepts", function()
      local o = { kind = "rapid" }
      assert.equal(o, options.check_options("hy3d submit", o, options.methods.submit, 1))
    end)
  end)

  it("reads blank environment variables as unset", function()
    local getenv = os.getenv
    os.getenv = function(n) return ({ A = "  ", B = " x " })[n] end   -- luacheck: ignore 122
    local a, b = options.env("A"), options.env("B")
    os.getenv = getenv                                                 -- luacheck: ignore 122
    assert.is_nil(a)
    assert.equal(" x ", b)
  end)

  describe("settings", function()
    it("picks the gateway for an api_key, with the Bearer scheme when asked", function()
      without_env(function()
        local s = options.settings { api_key = " sk-0123456789 ", auth_scheme = "Bearer" }
        assert.equal("gateway", s.door)
        assert.equal(options.defaults.base_url, s.base_url)
        assert.equal("Bearer sk-0123456789", s.transport.engine.authorization)
        assert.is_nil(s.transport.engine.tc3)
        assert.same({ "sk-0123456789" }, s.transport.secrets)
      end)
    end)
    it("picks API 3.0 for a SecretId/SecretKey, with its region and the defaults", function()
      without_env(function()
        local s = options.settings { secret_id = "AKIDexample", secret_key = "secret-key-0123", region = "ap-shanghai" }
        assert.equal("api3", s.door)
        assert.equal(options.defaults.endpoint, s.base_url)
        assert.equal("ap-shanghai", s.transport.engine.tc3.region)
        assert.equal(options.defaults.version, s.transport.engine.tc3.version)
        assert.equal(options.defaults.max_retries, s.transport.retry.max)
        assert.same({ door = "api3" }, s.transport.error_ctx)
      end)
    end)
    it("takes the door from the door option, else HY3D_DOOR, and its credentials from the options or the environment", function()
      local both = { HY3D_API_KEY = "sk-from-the-env", TENCENTCLOUD_SECRET_ID = "AKIDenv",
                     TENCENTCLOUD_SECRET_KEY = "secret-key-env" }
      without_env(function()
        assert.equal("gateway", options.settings({}).door)             -- HY3D_API_KEY wins without a door
        local s = options.settings { door = "api3" }
        assert.same({ "api3", "AKIDenv", true }, { s.door, s.transport.engine.tc3.secret_id, s.has_credentials })
        assert.is_nil(s.transport.engine.authorization)
      end, both)
      without_env(function()
        local s = options.settings {}
        assert.same({ "api3", "AKIDenv" }, { s.door, s.transport.engine.tc3.secret_id })
        s = options.settings { door = "gateway" }                      -- the option wins over HY3D_DOOR
        assert.same({ "gateway", "sk-from-the-env" }, { s.door, s.transport.engine.authorization })
      end, { HY3D_DOOR = "api3", HY3D_API_KEY = both.HY3D_API_KEY, TENCENTCLOUD_SECRET_ID = "AKIDenv",
             TENCENTCLOUD_SECRET_KEY = "secret-key-env" })
      without_env(function()
        local s = options.settings { door = "api3" }                   -- a door without its credentials
        assert.same({ "api3", false }, { s.door, s.has_credentials })
        for _, case in ipairs {
          { { door = "tokenhub2" }, "door must be one of gateway, api3" },
          { { door = "gateway", secret_id = "AKIDx", secret_key = "secret-key-0123" }, "the gateway door takes an api_key" },
          { { door = "api3", api_key = "sk-0123456789" }, "the api3 door takes secret_id and secret_key" },
        } do
          local ok, err = pcall(options.settings, case[1])
          assert.is_false(ok)
          assert.matches(case[2], err, 1, true)
        end
      end, { HY3D_API_KEY = "sk-from-the-env" })
      without_env(function()
        local ok, err = pcall(options.settings, {})
        assert.is_false(ok)
        assert.matches('HY3D_DOOR must be one of gateway, api3, tokenhub', err, 1, true)   -- every door, by name
        assert.matches('got "nope"', err, 1, true)
        assert.matches(', mps', err, 1, true)
      end, { HY3D_DOOR = "nope" })
      without_env(function()                                           -- a door without credentials
        local s = options.settings {}
        assert.same({ "local", true, "http://gpu-box:8081" }, { s.door, s.has_credentials, s.base_url })
        assert.is_nil(s.transport.engine.authorization)
      end, { HY3D_DOOR = "local", HY3D_BASE_URL = "http://gpu-box:8081", HY3D_API_KEY = "sk-from-the-env" })
    end)
    it("has no door without credentials", function()
      without_env(function()
        local s = options.settings {}
        assert.is_nil(s.door)
        assert.same({}, s.transport.secrets)
      end)
    end)
    it("refuses secrets shorter than MIN_SECRET without showing them, and both doors at once", function()
      without_env(function()
        local ok, err = pcall(options.settings, { api_key = "short" })
        assert.is_false(ok)
        assert.matches("shorter than " .. options.MIN_SECRET, err)
        assert.is_nil(err:find("short\"", 1, true))
        assert.error_matches(function() options.settings { api_key = "sk-0123456789", secret_id = "AKIDx" } end,
          "not both")
      end)
    end)
    it("refuses plain http:// to a host that is not loopback unless allow_http", function()
      without_env(function()
        assert.error_matches(function() options.settings { api_key = "sk-0123456789", base_url = "http://example.com" } end,
          "plain http://")
        local local_url = "http://127.0.0.1:1"
        assert.equal(local_url, options.settings { api_key = "sk-0123456789", base_url = local_url }.base_url)
        assert.equal("http://example.com",
          options.settings { api_key = "sk-0123456789", base_url = "http://example.com", allow_http = true }.base_url)
      end)
    end)
    it("raises on values out of range", function()
      for _, o in ipairs { { timeout = 0 }, { poll_interval = -1 }, { max_retries = 1.5 }, { max_concurrent_jobs = 0 },
                           { language = "english" }, { auth_scheme = "Basic" } } do
        assert.has_error(function() without_env(function() options.settings(o) end) end)
      end
    end)
  end)
end)
