-- `hy3d doctor` against the sandbox: a good setup (all ok, exit 0) on each door, each known
-- confusion (intl credentials on the mainland and the reverse, a TokenHub key on the gateway and the
-- reverse, a service not activated, a clock too far off) with its one-line fix and a non-zero exit,
-- the clock skew from the server's Date header, proxies without their passwords, and no secret in
-- any output. Also the pure helpers (the HTTP date, the userinfo redaction).
local sandbox = require "spec.support.sandbox"
local cli = require "spec.support.cli"
local doctor = require "hy3d.cli.cmd.doctor"

local hy3d, events = cli.run, cli.events

local INTL_ID = "AKIDhy3dSpecDoctorIntlSecretId0000"
local INTL_KEY = "hy3dSpecDoctorIntlSecretKey0123456"
local TOKENHUB_KEY = "sk-hy3d-spec-tokenhub-0123456789abcdef"

local SANDBOX_RUNS = _VERSION ~= "Lua 5.1" and _VERSION ~= "Lua 5.2" and not rawget(_G, "jit")

-- The check lines of a JSON run by name, and the summary.
local function checks(out)
  local by, summary = {}, nil
  for _, e in ipairs(events(out)) do
    assert.equal(1, e.schema, "every line carries the schema version")
    if e.event == "check" then by[e.check] = e elseif e.event == "summary" then summary = e end
  end
  return by, summary
end

local function absent(secret, ...)
  for _, text in ipairs { ... } do
    assert.is_nil(text:find(secret, 1, true), "the secret shows in: " .. text)
  end
end

describe("hy3d doctor's helpers", function()
  it("reads an HTTP date as UNIX seconds", function()
    assert.equal(784111777, doctor.http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
    assert.equal(0, doctor.http_date("Thu, 01 Jan 1970 00:00:00 GMT"))
    assert.equal(951782400, doctor.http_date("Tue, 29 Feb 2000 00:00:00 GMT"))
    assert.is_nil(doctor.http_date("yesterday"))
    assert.is_nil(doctor.http_date(nil))
  end)

  it("takes the user name and password out of a proxy URL", function()
    assert.equal("http://…(redacted)@proxy:3128", doctor.without_userinfo("http://bob:s3cr3t@proxy:3128"))
    assert.equal("http://…(redacted)@proxy:3128/x", doctor.without_userinfo("http://bob:p@ss@proxy:3128/x"))
    assert.equal("socks5://proxy:1080", doctor.without_userinfo("socks5://proxy:1080"))
    assert.equal("…(redacted)@proxy:8080", doctor.without_userinfo("user:pw@proxy:8080"))
  end)
end)

if not SANDBOX_RUNS then
  pending("hy3d doctor against the sandbox: hy3d-sandbox needs Lua 5.3+ (this suite runs on " .. _VERSION .. ")")
  return
end

describe("hy3d doctor", function()
  local sb = sandbox.suite { extra = { "--intl-secret-id", INTL_ID, "--intl-secret-key", INTL_KEY } }
  local dir

  setup(function() dir = sandbox.tmpdir() end)
  teardown(function() os.execute("rm -rf " .. sandbox.shell_quote(dir)) end)
  after_each(function()
    sb:config { clock_offset = 0, tokenhub = { keys = false, http_status = true, express_prompt_chars = 1024 } }
  end)

  local function gateway(extra)
    local t = { HY3D_BASE_URL = sb.url, HY3D_API_KEY = sb.key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end
  local function api3(id, key, extra)
    local t = { HY3D_ENDPOINT = sb.url, TENCENTCLOUD_SECRET_ID = id or sandbox.secret_id,
                TENCENTCLOUD_SECRET_KEY = key or sandbox.secret_key, HY3D_JOBS_FILE = dir .. "/jobs.jsonl" }
    for k, v in pairs(extra or {}) do t[k] = v end
    return t
  end

  it("passes a good gateway setup: every check, exit 0, the key never shown", function()
    local code, out, err = hy3d("doctor --json", gateway())
    assert.equal(0, code, err)
    local by, summary = checks(out)
    for _, name in ipairs { "versions", "credentials", "door", "ca", "proxy", "account", "clock" } do
      assert.truthy(by[name], name)
      assert.are_not.equal("fail", by[name].status, name)
    end
    for _, name in ipairs { "versions", "credentials", "door", "account", "clock" } do
      assert.equal("ok", by[name].status, name .. ": " .. tostring(by[name].message))
    end
    assert.equal("gateway", by.door.door)
    assert.matches("api key sk%-…%(redacted%), from HY3D_API_KEY", by.credentials.message)
    assert.equal("FailedOperation.JobNotFound", by.account.code)
    assert.equal(0, summary.fail)
    assert.equal(0, summary.exit)
    absent(sb.key, out, err)
    assert.equal(0, #sb:requests("submit"), "doctor submits nothing")
  end)

  it("passes a good API 3.0 setup, in text: one line per check, the SecretKey never shown", function()
    local code, out, err = hy3d("doctor --text", api3())
    assert.equal(0, code, err)
    assert.matches("ok%s+credentials API 3%.0: SecretId AKID…%(redacted%), from TENCENTCLOUD_SECRET_ID", out)
    assert.matches("ok%s+account%s+API 3%.0 at ", out)
    assert.matches("ok%s+clock%s+", out)
    assert.matches("\n%d+ ok, %d+ warn, 0 fail\n$", out)
    absent(sandbox.secret_key, out, err)
    absent(sandbox.secret_id, out, err)
  end)

  it("says international credentials on the mainland need --site intl (exit 3)", function()
    local code, out, err = hy3d("doctor --text", api3(INTL_ID, INTL_KEY))
    assert.equal(3, code, err)
    assert.matches("fail%s+account%s+the mainland site refused TENCENTCLOUD_SECRET_ID %(AuthFailure%.[%a]+%): these are "
      .. "international %(tencentcloud%.com%) credentials; fix: add %-%-site intl %(or set HY3D_SITE=intl%)", out)
    absent(INTL_KEY, out, err)
  end)

  it("says mainland credentials on the intl site need the mainland (exit 3)", function()
    local code, out, err = hy3d("doctor --json", api3(nil, nil, { HY3D_SITE = "intl" }))
    assert.equal(3, code, err)
    local by, summary = checks(out)
    assert.equal("fail", by.account.status)
    assert.matches("these are mainland", by.account.message)
    assert.equal("use --site mainland (or unset HY3D_SITE)", by.account.fix)
    assert.equal(3, summary.exit)
    absent(sandbox.secret_key, out, err)
  end)

  it("says a TokenHub key on the gateway needs --door tokenhub, and the reverse (exit 3)", function()
    sb:config { tokenhub = { keys = { TOKENHUB_KEY } } }
    local code, out, err = hy3d("doctor --text", gateway { HY3D_API_KEY = TOKENHUB_KEY })
    assert.equal(3, code, err)
    assert.matches("fail%s+account%s+the gateway refused HY3D_API_KEY, which is a TokenHub key; fix: add %-%-door "
      .. "tokenhub %(or set HY3D_DOOR=tokenhub%)", out)
    absent(TOKENHUB_KEY, out, err)
    code, out, err = hy3d("doctor --text --door tokenhub", gateway())
    assert.equal(3, code, err)
    assert.matches("fail%s+account%s+TokenHub refused HY3D_API_KEY, which is a 3D gateway key; fix: use %-%-door gateway", out)
    absent(sb.key, out, err)
    code, out, err = hy3d("doctor --text --door tokenhub", gateway { HY3D_API_KEY = TOKENHUB_KEY })
    assert.equal(0, code, out .. err)
  end)

  it("says a key neither door takes is wrong, without naming it (exit 3)", function()
    local wrong = "sk-hy3d-spec-doctor-wrong-0123456789"
    local code, out, err = hy3d("doctor --text", gateway { HY3D_API_KEY = wrong })
    assert.equal(3, code, err)
    assert.matches("fail%s+account%s+the gateway refused HY3D_API_KEY %(", out)
    assert.matches("fix: create a key on the Hunyuan 3D console's API KEY page", out)
    absent(wrong, out, err)
  end)

  it("says a service that is not activated needs activating in the console (exit 6)", function()
    sb:fault { route = "query", action = "api_error", code = "ResourceUnavailable.NotExist", message = "计费状态未知",
               count = -1 }
    for _, env in ipairs { gateway(), api3() } do
      local code, out, err = hy3d("doctor --json", env)
      assert.equal(6, code, err)
      local by = checks(out)
      assert.equal("fail", by.account.status)
      assert.equal("ResourceUnavailable.NotExist", by.account.code)
      assert.matches("not activated", by.account.message)
      assert.matches("^activate Hunyuan 3D %(or buy credits%) in the console: https://console%.cloud%.tencent%.com/ai3d$",
        by.account.fix)
    end
  end)

  it("reports the clock skew from the server's Date header: a warning at 2 minutes", function()
    sb:config { clock_offset = 120 }
    local code, out, err = hy3d("doctor --json", gateway())
    assert.equal(0, code, err)
    local by = checks(out)
    assert.equal("warn", by.clock.status)
    assert.truthy(by.clock.skew >= 119 and by.clock.skew <= 121, tostring(by.clock.skew))
    assert.matches("this machine's clock is 1[12]%d s behind the server's", by.clock.message)
    assert.matches("^sync this machine's clock", by.clock.fix)
    assert.matches("GMT$", by.clock.server_date)
  end)

  it("fails a clock too far off for TC3 signatures: AuthFailure.SignatureExpire gets its fix (exit 3)", function()
    sb:config { clock_offset = -400 }
    local code, out, err = hy3d("doctor --json", api3())
    assert.equal(3, code, err)
    local by = checks(out)
    assert.equal("fail", by.clock.status)
    assert.truthy(by.clock.skew <= -399 and by.clock.skew >= -401, tostring(by.clock.skew))
    assert.matches("is 4%d%d s ahead of the server's: signatures expire past 300 s", by.clock.message)
    assert.equal("fail", by.account.status)
    assert.equal("AuthFailure.SignatureExpire", by.account.code)
  end)

  it("shows the proxy variables without their user names and passwords", function()
    local code, out, err = hy3d("doctor --text", gateway {
      HTTPS_PROXY = "http://alice:proxy-pass-0123456789@proxy.invalid:3128",
      ALL_PROXY = "socks5://bob:other-pass-0123456789@socks.invalid:1080", no_proxy = "127.0.0.1,localhost" })
    assert.equal(0, code, out .. err)
    assert.matches("HTTPS_PROXY=http://…%(redacted%)@proxy%.invalid:3128", out)
    assert.matches("ALL_PROXY=socks5://…%(redacted%)@socks%.invalid:1080", out)
    assert.matches("no_proxy=127%.0%.0%.1,localhost; connections are direct", out)
    for _, s in ipairs { "alice", "proxy-pass-0123456789", "bob", "other-pass-0123456789" } do absent(s, out, err) end
  end)

  it("fails without credentials, naming what to set (exit 3), and still checks the rest", function()
    local code, out, err = hy3d("doctor --json", { HY3D_JOBS_FILE = dir .. "/jobs.jsonl" })
    assert.equal(3, code, err)
    local by, summary = checks(out)
    assert.equal("fail", by.credentials.status)
    assert.equal("NO_CREDENTIALS", by.credentials.code)
    assert.truthy(by.versions and by.ca and by.proxy)
    assert.equal(1, summary.fail)
  end)

  it("asks a self-hosted server its health (no credentials, no clock)", function()
    local code, out, err = hy3d("doctor --json --door local", { HY3D_BASE_URL = sb.url .. "/selfhosted",
                                                               HY3D_JOBS_FILE = dir .. "/jobs.jsonl" })
    assert.equal(0, code, err)
    local by = checks(out)
    assert.equal("ok", by.account.status)
    assert.matches("answers: healthy", by.account.message)
    assert.is_nil(by.clock)
  end)

  it("fails a server it cannot reach with the network's exit code (4)", function()
    local dead = "http://127.0.0.1:" .. sandbox.dead_port()
    local code, out, err = hy3d("doctor --json --retries 0", gateway { HY3D_BASE_URL = dead })
    assert.equal(4, code, err)
    local by, summary = checks(out)
    assert.equal("fail", by.account.status)
    assert.matches("^cannot reach the gateway at http://127%.0%.0%.1:%d+: ", by.account.message)
    assert.equal("warn", by.clock.status)
    assert.equal(4, summary.exit)
  end)

  it("shows a URL without the user name and password it may carry", function()
    local url = sb.url:gsub("^http://", "http://carol:url-pass-0123456789@")
    local code, out, err = hy3d("doctor --text --allow-http", gateway { HY3D_BASE_URL = url })
    assert.equal(0, code, out .. err)
    assert.matches("at http://…%(redacted%)@127%.0%.0%.1:%d+ ", out)
    for _, s in ipairs { "carol", "url-pass-0123456789" } do absent(s, out, err) end
  end)

  it("has its help (`hy3d doctor --help`, `hy3d help doctor`) and is listed in `hy3d --help`", function()
    local code, out = hy3d("doctor --help")
    assert.equal(0, code)
    assert.matches("^usage: hy3d doctor %[options%]\n", out)
    local _, out2 = hy3d("help doctor")
    assert.equal(out, out2)
    local _, main = hy3d("--help")
    assert.matches("\n  doctor +check the setup", main)
  end)

  it("takes no arguments (a usage error)", function()
    local code, _, err = hy3d("doctor extra", gateway())
    assert.equal(2, code)
    assert.matches("hy3d doctor: takes no arguments", err)
  end)
end)
