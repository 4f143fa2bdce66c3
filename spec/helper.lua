-- Loaded by busted before the specs: fails fast when the C core has not been built.
local ok, err = pcall(require, "hy3d.core")
if not ok then
  error("spec/helper.lua: cannot load hy3d.core (run `make` first): " .. tostring(err))
end
