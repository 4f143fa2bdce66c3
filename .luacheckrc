-- luacheck configuration (`make test` runs `luacheck -q .`).
std = "max"
max_line_length = 130
include_files = { "lua/**/*.lua", "sandbox/lua/**/*.lua", "sandbox/bin", "spec/**/*.lua", "examples/**/*.lua", "bin",
                  "bench/**/*.lua", "mutate/**/*.lua", "scripts/**/*.lua",
                  ".busted", ".luacheckrc" }
exclude_files = { "build", "out", "spec/tooling/sdk", "spec/**/*.c", "examples/**/*.md",
                  "mutate/results.lua" }   -- results.lua: data make mutate writes
files["spec"] = { std = "+busted" }
files["sandbox/bin/hy3d-sandbox"] = { globals = { "arg" } }
files["bench"] = { globals = { "wrk" } }   -- wrk scripts
files["examples/love"] = { globals = { "love" } }
files["examples/openresty"] = { globals = { "ngx" } }   -- ngx_lua's API (ngx.status, ngx.header are set)
files["spec/hosts/love_game"] = { globals = { "love" } }
