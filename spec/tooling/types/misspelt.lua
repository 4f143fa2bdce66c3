-- spec/tooling/types/misspelt.lua: typos lua-language-server must warn about against types/library (types_spec.lua; never run).
local hy3d = require "hy3d"

local client = hy3d.new { api_key = "sk-xxxxxxxxxxxx" }
client:genrate("a chair")
hy3d.spwan(function() end)
