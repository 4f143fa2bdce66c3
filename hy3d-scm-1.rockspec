-- LuaRocks build of hy3d from the main branch (`luarocks make hy3d-scm-1.rockspec` in a checkout, or from the
-- repository once published): hy3d-<version>-1.rockspec with version "scm-1" and the branch instead
-- of the release tag; every other field is the same (spec/tooling/rockspec_spec.lua compares them).
rockspec_format = "3.0"
package = "hy3d"
version = "scm-1"
source = {
  url = "git+https://example.invalid/hy3d/hy3d.git",   -- set when the project is published
  branch = "main",
}
description = {
  summary = "Generate 3D models with Tencent Hunyuan 3D from Lua (libcurl + lua-cjson)",
  detailed = [[
hy3d submits text or image prompts to Tencent's Hunyuan 3D service, polls the jobs and downloads
GLB/OBJ results (resumable downloads, zip extraction). Its C core drives libcurl on a multi
handle, so calls run side by side in hy3d's tasks or a host's event loop instead of blocking. Ships the hy3d command-line tool;
hy3d-sandbox, an offline emulator of the service, is its own rock.
]],
  homepage = "https://example.invalid/hy3d/hy3d",             -- set when the project is published
  issues_url = "https://example.invalid/hy3d/hy3d/issues",
  maintainer = "hy3d maintainers <maintainers@example.invalid>",
  license = "MIT",
  labels = { "3d", "http", "libcurl", "tencent", "hunyuan" },
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  -- probe the library only: Debian/Ubuntu keep curl.h in a multiarch directory LuaRocks does not search
  CURL = { library = "curl" },
  OPENSSL = { library = "crypto" },   -- libcrypto: SHA-256, HMAC and base64 for TC3 signing
  LIBZIP = { header = "zip.h" },      -- extraction of OBJ result zips
}
build = {
  type = "builtin",
  modules = {
    ["hy3d.core"] = {
      sources = { "src/hy3d_core.c", "src/hy3d_engine.c", "src/hy3d_request.c", "src/hy3d_poll.c", "src/hy3d_download.c",
                  "src/hy3d_result.c", "src/hy3d_handle.c", "src/hy3d_sign.c", "src/hy3d_json.c",
                  "src/hy3d_files.c", "src/hy3d_image.c", "src/hy3d_util.c", "src/hy3d_buf.c",
                  "src/hy3d_scan.c" },
      libraries = { "curl", "crypto", "zip" },
      incdirs = { "src", "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)", "$(LIBZIP_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)", "$(LIBZIP_LIBDIR)" },
    },
    ["hy3d"] = "lua/hy3d/init.lua",
    ["hy3d.client"] = "lua/hy3d/client.lua",
    ["hy3d.batch"] = "lua/hy3d/batch.lua",
    ["hy3d.options"] = "lua/hy3d/options.lua",
    ["hy3d.credits"] = "lua/hy3d/credits.lua",
    ["hy3d.families"] = "lua/hy3d/families.lua",
    ["hy3d.transport"] = "lua/hy3d/transport.lua",
    ["hy3d.retry"] = "lua/hy3d/retry.lua",
    ["hy3d.slots"] = "lua/hy3d/slots.lua",
    ["hy3d.download"] = "lua/hy3d/download.lua",
    ["hy3d.chain"] = "lua/hy3d/chain.lua",
    ["hy3d.loop"] = "lua/hy3d/loop.lua",
    ["hy3d.doors"] = "lua/hy3d/doors.lua",
    ["hy3d.doors.local"] = "lua/hy3d/doors/local.lua",
    ["hy3d.doors.tokenhub"] = "lua/hy3d/doors/tokenhub.lua",
    ["hy3d.doors.mps"] = "lua/hy3d/doors/mps.lua",
    ["hy3d.sites"] = "lua/hy3d/sites.lua",
    ["hy3d.error"] = "lua/hy3d/error.lua",
    ["hy3d.scheduler"] = "lua/hy3d/scheduler.lua",
    ["hy3d.validate"] = "lua/hy3d/validate.lua",
    ["hy3d.files"] = "lua/hy3d/files.lua",
    ["hy3d.image"] = "lua/hy3d/image.lua",
    ["hy3d.inspect"] = "lua/hy3d/inspect.lua",   -- its parser hy3d.mesh (assimp) is no module of this rock: `make`
    ["hy3d.jobs"] = "lua/hy3d/jobs.lua",
    ["hy3d.cache"] = "lua/hy3d/cache.lua",
    ["hy3d.gallery"] = "lua/hy3d/gallery.lua",
    ["hy3d.hosts.ngx"] = "lua/hy3d/hosts/ngx.lua",
    ["hy3d.hosts.love"] = "lua/hy3d/hosts/love.lua",
    ["hy3d.hosts.tarantool"] = "lua/hy3d/hosts/tarantool.lua",
    ["hy3d.cli"] = "lua/hy3d/cli/init.lua",
    ["hy3d.cli.budget"] = "lua/hy3d/cli/budget.lua",
    ["hy3d.cli.args"] = "lua/hy3d/cli/args.lua",
    ["hy3d.cli.connect"] = "lua/hy3d/cli/connect.lua",
    ["hy3d.cli.context"] = "lua/hy3d/cli/context.lua",
    ["hy3d.cli.exit"] = "lua/hy3d/cli/exit.lua",
    ["hy3d.cli.kinds"] = "lua/hy3d/cli/kinds.lua",
    ["hy3d.cli.output"] = "lua/hy3d/cli/output.lua",
    ["hy3d.cli.params"] = "lua/hy3d/cli/params.lua",
    ["hy3d.cli.cmd.cache"] = "lua/hy3d/cli/cmd/cache.lua",
    ["hy3d.cli.cmd.download"] = "lua/hy3d/cli/cmd/download.lua",
    ["hy3d.cli.cmd.generate"] = "lua/hy3d/cli/cmd/generate.lua",
    ["hy3d.cli.cmd.batch"] = "lua/hy3d/cli/cmd/batch.lua",
    ["hy3d.cli.cmd.inspect"] = "lua/hy3d/cli/cmd/inspect.lua",
    ["hy3d.cli.cmd.chain"] = "lua/hy3d/cli/cmd/chain.lua",
    ["hy3d.cli.cmd.jobs"] = "lua/hy3d/cli/cmd/jobs.lua",
    ["hy3d.cli.cmd.doctor"] = "lua/hy3d/cli/cmd/doctor.lua",
    ["hy3d.cli.cmd.gallery"] = "lua/hy3d/cli/cmd/gallery.lua",
    ["hy3d.cli.cmd.sandbox"] = "lua/hy3d/cli/cmd/sandbox.lua",
    ["hy3d.cli.cmd.shared"] = "lua/hy3d/cli/cmd/shared.lua",
    ["hy3d.cli.cmd.status"] = "lua/hy3d/cli/cmd/status.lua",
    ["hy3d.cli.cmd.submit"] = "lua/hy3d/cli/cmd/submit.lua",
    ["hy3d.cli.cmd.wait"] = "lua/hy3d/cli/cmd/wait.lua",
  },
  platforms = {
    windows = { modules = { ["hy3d.core"] = { libraries = { "libcurl", "libcrypto", "zip" } } } },
  },
  install = {
    bin = { ["hy3d"] = "bin/hy3d" },
  },
  copy_directories = { "examples" },
}
-- `luarocks test`: the suite through `make test` for the Lua luarocks runs, offline (no test_dependencies:
-- luarocks would fetch busted as a rock, and Debian's busted is not one); what is absent is pending.
test = { type = "command", script = "scripts/luarocks-test.lua" }
