-- hy3d.cli.exit in process: the exit code of each kind of error, and the library's errors put in
-- the command line's words (flags and variables; a local check's value left out).
local exit = require "hy3d.cli.exit"
local errors = require "hy3d.error"

local EXIT, code_of = exit.EXIT, exit.exit_code

describe("hy3d.cli.exit", function()
  it("has the documented exit codes", function()
    assert.same({ ok = 0, failed = 1, usage = 2, auth = 3, network = 4, timeout = 5, api = 6, io = 7, internal = 70,
                  interrupted = 130 }, EXIT)
  end)

  it("gives each kind of error its exit code", function()
    for _, case in ipairs {
      { { kind = "usage" }, 2 }, { { kind = "job" }, 1 },
      { { kind = "invalid", code = "NO_CREDENTIALS" }, 3 }, { { kind = "invalid", code = "HALF_CREDENTIALS" }, 3 },
      { { kind = "invalid", code = "BAD_CREDENTIALS" }, 3 }, { { kind = "invalid", code = "INVALID_PARAMETER" }, 2 },
      { { kind = "timeout" }, 5 }, { { kind = "io" }, 7 },
      { { kind = "api", code = "AuthFailure.SecretIdNotFound" }, 3 },
      { { kind = "api", code = "InvalidParameterValue.Prompt" }, 2 }, { { kind = "api", code = "MissingParameter" }, 2 },
      { { kind = "api", code = "UnknownParameter" }, 2 }, { { kind = "api", code = "LimitExceeded" }, 6 },
      { { kind = "http", http_status = 401 }, 3 }, { { kind = "http", http_status = 403 }, 3 },
      { { kind = "http", http_status = 500 }, 4 }, { { kind = "network" }, 4 }, { { kind = "decode" }, 4 },
      { { kind = "something else" }, 70 },
      { { kind = "callback", message = "x: interrupted!" }, 130 }, { { kind = "io", message = "interrupted!" }, 130 },
    } do
      assert.equal(case[2], code_of(case[1]), case[1].kind .. " " .. tostring(case[1].code or case[1].http_status))
    end
  end)

  it("takes a 401/403 once the job is DONE (phase download) for the file host's, not the key's", function()
    assert.equal(EXIT.network, code_of({ kind = "http", http_status = 403 }, "download"))
    assert.equal(EXIT.network, code_of({ kind = "http", http_status = 401 }, "download"))
  end)

  it("puts the Lua API's option names in the command line's words", function()
    assert.equal("set HY3D_API_KEY or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY",
      exit.cli_words("pass api_key or secret_id and secret_key"))
    assert.equal("--base-url (HY3D_BASE_URL) must be a URL", exit.cli_words("hy3d.new: base_url must be a URL"))
    assert.equal("add --no-validate or --allow-http", exit.cli_words("add validate = false or allow_http = true"))
    assert.matches("%-%-language en%-US or HY3D_LANGUAGE=en%-US", exit.cli_words('a message (pass language = "en-US")'))
  end)

  it("names the flag of a locally checked field and leaves its value out", function()
    local err = errors.new { kind = "invalid", code = "INVALID_PARAMETER", field = "FaceCount",
                             message = "FaceCount: an integer in [3000, 1500000], got 5 (checked locally)" }
    local t = exit.translate(err)
    assert.equal("--faces: an integer in [3000, 1500000] (checked locally)", t.message)
    assert.equal(err.code, t.code)
    assert.is_not.equal(err, t)                               -- a copy: the library's error is left as it was
    assert.equal("FaceCount: an integer in [3000, 1500000], got 5 (checked locally)", err.message)
  end)

  it("keeps the --language pointer of a hint only on API 3.0 when the language is not English", function()
    local err = errors.new { kind = "api", code = "FailedOperation", message = "m",
                             hint = 'the service answered in Chinese (pass language = "en-US")' }
    assert.matches("%-%-language", exit.translate(err, "api3", nil).hint)
    assert.is_nil(exit.translate(err, "api3", "en-US").hint:find("language", 1, true))
    assert.is_nil(exit.translate(err, "gateway", nil).hint:find("language", 1, true))
  end)

  it("returns an error with nothing to translate as it is", function()
    local err = errors.new { kind = "network", code = "COULDNT_CONNECT", message = "cannot connect" }
    assert.equal(err, exit.translate(err))
    assert.equal("a string", exit.translate("a string"))
  end)

  it("makes usage errors and strips Lua's position from a raised message", function()
    assert.same({ kind = "usage", message = "m" }, exit.usage_error("m"))
    assert.equal("bad thing", exit.bare("lua/hy3d/client.lua:12: bad thing"))
    assert.equal("no position", exit.bare("no position"))
  end)
end)
