-- hy3d.cli.args in process: option parsing (anywhere, --name=value, "--"), which command takes
-- which option, number options (messages never repeat a value), and `hy3d help`.
local args = require "hy3d.cli.args"
local cli = require "spec.support.cli"

local parse, number_option = args.parse, args.number_option

-- Runs fn with io.stdout and io.stderr captured; returns fn's result, stdout and stderr.
local captured = cli.captured

describe("hy3d.cli.args", function()
  it("takes options anywhere, --name=value, flags, repeated --view, and - as a word", function()
    local o, pos = assert(parse("generate", { "a", "--faces", "5000", "--pbr", "chair", "--view=left=l.png",
                                              "--view", "back=b.png", "-o", "x.glb", "-" }))
    assert.same({ "a", "chair", "-" }, pos)
    assert.equal("5000", o.faces)
    assert.is_true(o.pbr)
    assert.same({ "left=l.png", "back=b.png" }, o.view)
    assert.equal("x.glb", o.output)
  end)

  it("ends the options at --", function()
    local o, pos = assert(parse("submit", { "--json", "--", "--not-an-option", "-q" }))
    assert.is_true(o.json)
    assert.is_nil(o.quiet)
    assert.same({ "--not-an-option", "-q" }, pos)
  end)

  it("refuses what a command does not take, in one line that never repeats a value", function()
    for _, case in ipairs {
      { "status", { "--format", "glb", "1" }, "status does not take --format" },
      { "generate", { "--bogus=sk-secret-value", "x" }, "unknown option --bogus" },
      { "generate", { "--pbr=sk-secret-value", "x" }, "--pbr takes no value" },
      { "generate", { "x", "--faces" }, "--faces needs a value" },
      { "generate", { "--faces=", "x" }, "--faces needs a value, not an empty one" },
      { "jobs", { "--kind", "pro" }, "jobs does not take --kind" },
    } do
      local o, err = parse(case[1], case[2])
      assert.is_nil(o)
      assert.same({ kind = "usage", message = case[3] }, err)
    end
  end)

  it("reads number options: whole or not, a minimum (or above it), a maximum", function()
    local o = { faces = "5000", timeout = "0.5", interval = ".25" }
    assert.is_true(number_option(o, "faces", "--faces", 1, true))
    assert.equal(5000, o.faces)
    assert.is_true(number_option(o, "timeout", "--timeout", 0, false, nil, true))
    assert.equal(0.5, o.timeout)
    assert.is_true(number_option(o, "interval", "--interval", 0))
    assert.equal(0.25, o.interval)
    assert.is_true(number_option({}, "faces", "--faces", 1, true))          -- absent: fine, left nil
    for _, case in ipairs {
      { { v = "1.5" }, true, nil, nil, "--x needs a whole number >= 0" },
      { { v = "-1" }, false, nil, nil, "--x needs a number >= 0" },
      { { v = "0" }, false, true, nil, "--x needs a number above 0" },
      { { v = "sk-secret" }, true, nil, nil, "--x is not a number: give a whole number >= 0, in decimal digits" },
      { { v = "11" }, true, nil, 10, "--x needs a whole number >= 0" },
    } do
      local ok, err = number_option(case[1], "v", "--x", 0, case[2], nil, case[3], case[4])
      assert.is_nil(ok)
      assert.equal(case[5], err.message)
    end
    local _, err = number_option({ v = "2" }, "v", "--faces", 1, true, "from 3000 to 1500000", false, 1)
    assert.equal("--faces needs a whole number from 3000 to 1500000", err.message)
  end)

  it("helps: the main text, a command's, or one line and exit 2", function()
    local usage = { main = "MAIN\n", wait = "WAIT\n" }
    local code, out, err = captured(function() return args.help(usage, {}, "help") end)
    assert.same({ 0, "MAIN\n", "" }, { code, out, err })
    code, out = captured(function() return args.help(usage, { "--help", "wait" }, "--help") end)
    assert.same({ 0, "WAIT\n" }, { code, out })
    code, out, err = captured(function() return args.help(usage, { "main" }, "help") end)
    assert.same({ 2, "", "hy3d help: no command named main (see `hy3d --help`)\n" }, { code, out, err })
    code, out, err = captured(function() return args.help(usage, { "wait", "more" }, "help") end)
    assert.same({ 2, "", "hy3d: help takes one command name at most (see `hy3d --help`)\n" }, { code, out, err })
  end)

  it("shares the help fragments the commands' texts are made of", function()
    assert.matches("^connection", args.CONNECT_HELP)
    assert.matches("default when stdout is not a", args.output_help(true))
    assert.matches("plain text, even in a pipe", args.output_help(false))
    assert.matches("waiting and downloading included", args.wait_help(true))
    assert.matches("checked before the job is submitted", args.SAVE_HELP)
  end)
end)
