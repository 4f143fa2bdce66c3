--- hy3d.cli.cmd.sandbox: `hy3d sandbox`: runs hy3d-sandbox, the emulator, when it is installed
-- (hy3d.sandbox, the hy3d-sandbox rock, is optional: required only here). Version-neutral Lua (5.1
-- to 5.4, LuaJIT).
local exit = require "hy3d.cli.exit"

local EXIT = exit.EXIT

local USAGE = [[
usage: hy3d sandbox [hy3d-sandbox options]

Runs hy3d-sandbox, the offline emulator of the service, in the foreground (needs Lua 5.3 or
newer). `hy3d sandbox --help` lists its options.
]]

local function cmd_sandbox(ctx, args)
  local v = _VERSION:match("(%d+%.%d+)")
  if rawget(_G, "jit") or not v or tonumber(v) < 5.3 then
    ctx:err(("hy3d sandbox: the sandbox needs Lua 5.3 or newer, and this is %s; run `hy3d-sandbox` (it uses "
      .. "lua5.4) or `lua5.4 sandbox/bin/hy3d-sandbox` in a checkout\n"):format(rawget(_G, "jit") and "LuaJIT"
      or _VERSION))
    return EXIT.usage
  end
  -- the emulator is a product of its own (the hy3d-sandbox rock): optional, loaded only here
  local found, sandbox = pcall(require, "hy3d.sandbox")
  if not found then
    if not tostring(sandbox):find("module 'hy3d.sandbox' not found", 1, true) then error(sandbox, 0) end
    ctx:err("hy3d sandbox: the emulator is not installed (no module hy3d.sandbox): it is the hy3d-sandbox rock, "
      .. "for Lua 5.3 or 5.4 (`luarocks --lua-version=5.4 install hy3d-sandbox`; from a checkout, `make "
      .. "install-sandbox`, or `luarocks --lua-version=5.4 make` in sandbox/); in a checkout, "
      .. "`sandbox/bin/hy3d-sandbox` runs it as it is\n")
    return EXIT.usage
  end
  return sandbox.main(args)
end

return { usage = USAGE, run = cmd_sandbox }
