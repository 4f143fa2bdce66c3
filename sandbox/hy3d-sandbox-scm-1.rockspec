-- LuaRocks build of hy3d-sandbox from the main branch (`luarocks make hy3d-sandbox-scm-1.rockspec` in
-- sandbox/): hy3d-sandbox-<version>-1.rockspec with version "scm-1", the branch instead of the release tag and
-- any hy3d from this version on (scm included); every other field is the same (spec/tooling/rockspec_spec.lua).
rockspec_format = "3.0"
package = "hy3d-sandbox"
version = "scm-1"
source = {
  url = "git+https://example.invalid/hy3d/hy3d.git",   -- set when the project is published
  branch = "main",
  dir = "hy3d/sandbox",                                 -- this rock is the repository's sandbox/ folder
}
description = {
  summary = "hy3d-sandbox: an offline emulator of Tencent's Hunyuan 3D service, for tests and demos",
  detailed = [[
hy3d-sandbox answers like Tencent's Hunyuan 3D service on 127.0.0.1: the OpenAI-compatible gateway
(API key) and Tencent Cloud API 3.0 (TC3-HMAC-SHA256) on one job store, jobs going WAIT -> RUN ->
DONE on configurable timings, generated GLB/OBJ/... result files behind COS-like signed URLs with
byte ranges, fault injection and /_sandbox/ control endpoints. No key and no network needed.
]],
  homepage = "https://example.invalid/hy3d/hy3d",             -- set when the project is published
  issues_url = "https://example.invalid/hy3d/hy3d/issues",
  maintainer = "hy3d maintainers <maintainers@example.invalid>",
  license = "MIT",
  labels = { "3d", "http", "emulator", "testing", "tencent", "hunyuan" },
}
dependencies = {
  "lua >= 5.3, < 5.5",
  "hy3d >= 0.4.0",      -- hy3d.core: base64 and image hashes, and the version it reports
  "luasocket >= 3.0",   -- the HTTP server
  "lua-zlib >= 1.2",    -- PNG and zip result files
  "luaossl",            -- TC3 verification independent of hy3d.core's signer
}
build = {
  type = "builtin",
  modules = {
    ["hy3d.sandbox"] = "lua/hy3d/sandbox/init.lua",
    ["hy3d.sandbox.main"] = "lua/hy3d/sandbox/main.lua",
    ["hy3d.sandbox.store"] = "lua/hy3d/sandbox/store.lua",
    ["hy3d.sandbox.doors"] = "lua/hy3d/sandbox/doors.lua",
    ["hy3d.sandbox.intl"] = "lua/hy3d/sandbox/intl.lua",
    ["hy3d.sandbox.tokenhub"] = "lua/hy3d/sandbox/tokenhub.lua",
    ["hy3d.sandbox.mps"] = "lua/hy3d/sandbox/mps.lua",
    ["hy3d.sandbox.cos"] = "lua/hy3d/sandbox/cos.lua",
    ["hy3d.sandbox.control"] = "lua/hy3d/sandbox/control.lua",
    ["hy3d.sandbox.selfhosted"] = "lua/hy3d/sandbox/selfhosted.lua",
    ["hy3d.sandbox.http"] = "lua/hy3d/sandbox/http.lua",
    ["hy3d.sandbox.actions"] = "lua/hy3d/sandbox/actions.lua",
    ["hy3d.sandbox.faults"] = "lua/hy3d/sandbox/faults.lua",
    ["hy3d.sandbox.families"] = "lua/hy3d/sandbox/families.lua",
    ["hy3d.sandbox.image"] = "lua/hy3d/sandbox/image.lua",
    ["hy3d.sandbox.tc3"] = "lua/hy3d/sandbox/tc3.lua",
    ["hy3d.sandbox.assets"] = "lua/hy3d/sandbox/assets/init.lua",
    ["hy3d.sandbox.assets.mesh"] = "lua/hy3d/sandbox/assets/mesh.lua",
    ["hy3d.sandbox.assets.pack"] = "lua/hy3d/sandbox/assets/pack.lua",
    ["hy3d.sandbox.assets.writers"] = "lua/hy3d/sandbox/assets/writers.lua",
    ["hy3d.sandbox.assets.raster"] = "lua/hy3d/sandbox/assets/raster.lua",
  },
  install = {
    bin = { ["hy3d-sandbox"] = "bin/hy3d-sandbox" },
  },
}
-- `luarocks test` (in sandbox/): the emulator's specs (spec/sandbox in the repository) through `make test`,
-- offline, like hy3d's rock (no test_dependencies: luarocks would fetch busted as a rock).
test = { type = "command", script = "../scripts/luarocks-test.lua", flags = { "--sandbox" } }
