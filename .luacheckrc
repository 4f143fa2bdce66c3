-- luacheck configuration (`make test` runs `luacheck -q .`).
std = "max"
max_line_length = 130
include_files = { "lua", "spec", "examples", "bin", ".busted", ".luacheckrc" }
exclude_files = { "build", "out" }
files["spec"] = { std = "+busted" }
files["bin/hy3d-sandbox"] = { globals = { "arg" } }
