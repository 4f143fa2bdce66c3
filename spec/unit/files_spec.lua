-- hy3d.core's local-file functions: zip extraction that never writes outside its folder,
-- directories and terminal checks; hy3d.files' naming of partial and result files.
local core = require "hy3d.core"
local files = require "hy3d.files"
local zips = require "spec.support.zips"
local sandbox = require "spec.support.sandbox"

local exists = sandbox.exists

describe("core.unzip", function()
  local dir

  before_each(function() dir = sandbox.tmpdir() end)
  after_each(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("extracts files and folders with their exact bytes and lists the files", function()
    local zip = zips.write(dir .. "/ok.zip", {
      { name = "model.obj", data = "v 0 0 0\n" }, { name = "textures/", mode = zips.DIR },
      { name = "textures/albedo.png", data = ("\0\1\2\255"):rep(100) }, { name = "./model.mtl", data = "newmtl m\n" } })
    local names = assert(core.unzip(zip, dir .. "/out"))
    assert.same({ "model.obj", "textures/albedo.png", "./model.mtl" }, names)
    assert.equal("v 0 0 0\n", sandbox.read_file(dir .. "/out/model.obj"))
    assert.equal(("\0\1\2\255"):rep(100), sandbox.read_file(dir .. "/out/textures/albedo.png"))
    assert.equal("newmtl m\n", sandbox.read_file(dir .. "/out/model.mtl"))
  end)

  local hostile = {
    { "a parent-directory name", "../evil.txt" },
    { "a parent directory deeper in the name", "a/../../evil.txt" },
    { "an absolute path", "/tmp/hy3d-evil-" .. os.time() .. ".txt" },
    { "a backslash path", "..\\evil.txt" },
    { "a drive letter", "C:evil.txt" },
    { "a line break", "evil\n.txt" },       -- control bytes forge lines in listings and logs
    { "a tab", "a\tb.txt" },
  }
  for _, case in ipairs(hostile) do
    it("refuses the whole archive when an entry has " .. case[1], function()
      local zip = zips.write(dir .. "/evil.zip", { { name = "fine.txt", data = "ok" }, { name = case[2], data = "bad" } })
      local names, err = core.unzip(zip, dir .. "/out")
      assert.is_nil(names)
      assert.equal("io", err.kind)
      assert.equal("ZIP_UNSAFE_ENTRY", err.code)
      assert.equal(case[2], err.entry)
      assert.matches("outside the folder", err.message)
      assert.is_false(exists(dir .. "/out"), "nothing is written, not even the folder")
      assert.is_false(exists(dir .. "/evil.txt"))
      assert.is_false(exists(case[2]))
    end)
  end

  it("refuses symbolic links and devices", function()
    for _, e in ipairs { { name = "link", data = "/etc/passwd", mode = zips.LINK, why = "a symbolic link" },
                         { name = "pipe", mode = zips.FIFO, why = "a device, socket or pipe" } } do
      local zip = zips.write(dir .. "/special.zip", { e })
      local names, err = core.unzip(zip, dir .. "/out")
      assert.is_nil(names)
      assert.equal("ZIP_UNSAFE_ENTRY", err.code)
      assert.equal(e.name, err.entry)
      assert.matches("unsafe entry %(" .. e.why:gsub("%p", "%%%0") .. "%): it could write outside the folder$", err.message)
      assert.is_false(exists(dir .. "/out"))
    end
  end)

  it("never writes through a link that is already in the folder", function()
    local zip = zips.write(dir .. "/ok.zip", { { name = "sub/x.txt", data = "payload" } })
    assert(core.mkdir(dir .. "/out"))
    assert(core.mkdir(dir .. "/elsewhere"))
    assert(os.execute("ln -s '" .. dir .. "/elsewhere' '" .. dir .. "/out/sub'"))
    local names, err = core.unzip(zip, dir .. "/out", { overwrite = true })
    assert.is_nil(names)
    assert.equal("ZIP_UNSAFE_ENTRY", err.code)
    assert.is_false(exists(dir .. "/elsewhere/x.txt"))
  end)

  it("never extracts into a folder that is itself a symbolic link, even with overwrite", function()
    local zip = zips.write(dir .. "/ok.zip", { { name = "a.txt", data = "payload" } })
    assert(core.mkdir(dir .. "/elsewhere"))
    assert(os.execute("ln -s '" .. dir .. "/elsewhere' '" .. dir .. "/out'"))
    local names, err = core.unzip(zip, dir .. "/out", { overwrite = true })
    assert.is_nil(names)
    assert.equal("io", err.kind)
    assert.equal("ZIP_UNSAFE_ENTRY", err.code)
    assert.matches(": the folder is a symbolic link$", err.message)
    assert.is_false(exists(dir .. "/elsewhere/a.txt"))
    names, err = core.unzip(zip, dir .. "/out")          -- without overwrite: it exists
    assert.is_nil(names)
    assert.equal("EXISTS", err.code)
    assert.is_false(exists(dir .. "/elsewhere/a.txt"))
  end)

  it("refuses an existing folder unless asked to overwrite, then replaces files", function()
    local zip = zips.write(dir .. "/ok.zip", { { name = "a.txt", data = "new" } })
    assert(core.mkdir(dir .. "/out"))
    local f = assert(io.open(dir .. "/out/a.txt", "wb"))
    f:write("old")
    f:close()
    local names, err = core.unzip(zip, dir .. "/out")
    assert.is_nil(names)
    assert.equal("EXISTS", err.code)
    assert.equal("old", sandbox.read_file(dir .. "/out/a.txt"))
    assert(core.unzip(zip, dir .. "/out", { overwrite = true }))
    assert.equal("new", sandbox.read_file(dir .. "/out/a.txt"))
  end)

  it("takes back what it wrote when a later entry fails", function()
    -- the second entry's data no longer matches its CRC: found only once the first is written
    local good = zips.build { { name = "d/a.txt", data = "first" }, { name = "d/b.txt", data = "hello world" } }
    local zip = dir .. "/late.zip"
    sandbox.write_file(zip, (good:gsub("hello world", "HELLO WORLD", 1)))
    local names, err = core.unzip(zip, dir .. "/out")
    assert.is_nil(names)
    assert.equal("ZIP_INVALID", err.code)
    assert.equal("d/b.txt", err.entry)
    assert.is_false(exists(dir .. "/out/d/a.txt"))
    assert.is_false(exists(dir .. "/out"))
    -- into an existing folder (overwrite): what this extraction made goes, what was there stays
    assert(core.mkdir(dir .. "/out"))
    sandbox.write_file(dir .. "/out/keep.txt", "mine")
    names, err = core.unzip(zip, dir .. "/out", { overwrite = true })
    assert.is_nil(names)
    assert.equal("ZIP_INVALID", err.code)
    assert.is_false(exists(dir .. "/out/d"))
    assert.equal("mine", sandbox.read_file(dir .. "/out/keep.txt"))
    -- an exact duplicate name: libzip refuses the archive when it opens it, before any write
    zip = zips.write(dir .. "/dup.zip", { { name = "d/a.txt", data = "1" }, { name = "d/a.txt", data = "2" } })
    names, err = core.unzip(zip, dir .. "/out2")
    assert.is_nil(names)
    assert.equal("io", err.kind)
    assert.is_false(exists(dir .. "/out2"))
  end)

  it("takes back what it wrote when two names of the archive are one file", function()
    local zip = zips.write(dir .. "/twice.zip", { { name = "x.txt", data = "first" }, { name = "./x.txt", data = "second" } })
    local names, err = core.unzip(zip, dir .. "/out")
    assert.is_nil(names)
    assert.equal("io", err.kind)
    assert.equal("ZIP_DUPLICATE", err.code)
    assert.equal("./x.txt", err.entry)
    assert.is_false(exists(dir .. "/out"), "x.txt, written first, is taken back")
  end)

  it("refuses an encrypted entry before writing anything", function()
    local zip = zips.write(dir .. "/secret.zip", { { name = "fine.txt", data = "ok" },
                                                  { name = "secret.txt", data = "hidden", encrypted = true } })
    local names, err = core.unzip(zip, dir .. "/out")
    assert.is_nil(names)
    assert.equal("io", err.kind)
    assert.equal("ZIP_ENCRYPTED", err.code)
    assert.equal("secret.txt", err.entry)
    assert.is_false(exists(dir .. "/out"), "refused up front: not even fine.txt")
  end)

  it("refuses an entry that unpacks to fewer bytes than its header says", function()
    -- deflated, the CRC matching the short data: only the count of bytes that came out tells
    -- (libzip checks the CRC at the end, not the size); stored, libzip finds the sizes disagree
    for _, deflate in ipairs { true, false } do
      local zip = zips.write(dir .. "/short.zip", { { name = "short.bin", data = "only this", size = 1000,
                                                      deflate = deflate } })
      local names, err = core.unzip(zip, dir .. "/out")
      assert.is_nil(names)
      assert.equal("ZIP_INVALID", err.code)
      assert.equal("short.bin", err.entry)
      if deflate then assert.matches(": an entry is shorter than the archive says$", err.message) end
      assert.is_false(exists(dir .. "/out"))
    end
  end)

  it("refuses archives that unpack beyond max_bytes or max_entries", function()
    local zip = zips.write(dir .. "/big.zip", { { name = "a", data = ("x"):rep(600) }, { name = "b", data = ("y"):rep(600) } })
    local names, err = core.unzip(zip, dir .. "/out", { max_bytes = 1000 })
    assert.is_nil(names)
    assert.equal("ZIP_TOO_BIG", err.code)
    names, err = core.unzip(zip, dir .. "/out2", { max_entries = 1 })
    assert.is_nil(names)
    assert.equal("ZIP_TOO_BIG", err.code)
    assert.is_false(exists(dir .. "/out"))
  end)

  it("refuses an archive for its declared total before writing, leaving what the folder held", function()
    -- each entry fits max_bytes, the two together do not: the sum is checked before any write, so an
    -- existing file is never overwritten (and then rolled back away) by a refused archive
    os.execute("mkdir -p '" .. dir .. "/kept'")
    sandbox.write_file(dir .. "/kept/a", "old")
    local zip = zips.write(dir .. "/sum.zip", { { name = "a", data = ("x"):rep(600) }, { name = "b", data = ("y"):rep(600) } })
    local names, err = core.unzip(zip, dir .. "/kept", { max_bytes = 1000, overwrite = true })
    assert.is_nil(names)
    assert.equal("ZIP_TOO_BIG", err.code)
    assert.equal("old", sandbox.read_file(dir .. "/kept/a"))
    assert.is_false(exists(dir .. "/kept/b"))
  end)

  it("refuses an entry that unpacks to more than max_ratio times its compressed size", function()
    local bomb = zips.write(dir .. "/bomb.zip", { { name = "fine.txt", data = "ok" },
                                                { name = "zeros", data = ("\0"):rep(1000000), deflate = true } })
    local names, err = core.unzip(bomb, dir .. "/out")
    assert.is_nil(names)
    assert.equal("io", err.kind)
    assert.equal("ZIP_RATIO", err.code)
    assert.equal("zeros", err.entry)
    assert.matches("200 times", err.message)
    assert.is_false(exists(dir .. "/out"), "refused before a byte is written")
    names, err = core.unzip(bomb, dir .. "/out", { max_ratio = 1500 })
    assert.is_table(names, err and err.message)
    assert.equal(1000000, #sandbox.read_file(dir .. "/out/zeros"))
    local small = zips.write(dir .. "/small.zip", { { name = "zeros", data = ("\0"):rep(60000), deflate = true } })
    assert.is_table((core.unzip(small, dir .. "/small")), "entries under 64 KiB are exempt")
  end)

  it("counts the bytes it writes against max_bytes instead of trusting the sizes the archive claims", function()
    for _, e in ipairs { { name = "liar", data = ("\0"):rep(1000000), deflate = true, size = 1000 },
                         { name = "liar", data = ("x"):rep(100000), size = 1000 } } do
      local zip = zips.write(dir .. "/liar.zip", { e })
      local names, err = core.unzip(zip, dir .. "/out", { max_bytes = 10000 })
      assert.is_nil(names)
      assert.equal("ZIP_TOO_BIG", err.code)
      assert.equal("liar", err.entry)
      assert.is_false(exists(dir .. "/out"), "what was written is taken back")
      names, err = core.unzip(zip, dir .. "/out")         -- without the limit the lie is caught too
      assert.is_nil(names)
      assert.equal("ZIP_INVALID", err.code)
      assert.is_false(exists(dir .. "/out"))
    end
  end)

  it("refuses paths holding a NUL byte with a typed error", function()
    local zip = zips.write(dir .. "/ok.zip", { { name = "a.txt", data = "a" } })
    local names, err = core.unzip(zip .. "\0.evil", dir .. "/out")
    assert.is_nil(names)
    assert.equal("invalid", err.kind)
    assert.equal("BAD_PATH", err.code)
    names, err = core.unzip(zip, dir .. "/out\0/../../elsewhere")
    assert.is_nil(names)
    assert.equal("BAD_PATH", err.code)
    assert.is_false(exists(dir .. "/out"))
    local ok
    ok, err = core.mkdir(dir .. "/made\0/x")
    assert.is_nil(ok)
    assert.equal("BAD_PATH", err.code)
    assert.is_false(exists(dir .. "/made"))
  end)

  it("never writes an extracted file through a link planted where it goes", function()
    local zip = zips.write(dir .. "/ok.zip", { { name = "model.obj", data = "payload" } })
    sandbox.write_file(dir .. "/target", "untouched")
    assert(core.mkdir(dir .. "/out"))
    assert(os.execute("ln -s '" .. dir .. "/target' '" .. dir .. "/out/model.obj'"))
    local names, err = core.unzip(zip, dir .. "/out", { overwrite = true })
    assert.is_nil(names)
    assert.equal("ZIP_UNSAFE_ENTRY", err.code)
    assert.equal("model.obj", err.entry)
    assert.equal("untouched", sandbox.read_file(dir .. "/target"))
  end)

  it("reports a missing file, a file that is not a zip and a corrupt entry", function()
    local names, err = core.unzip(dir .. "/nope.zip", dir .. "/out")
    assert.is_nil(names)
    assert.equal("OPEN_FAILED", err.code)
    local f = assert(io.open(dir .. "/text.zip", "wb"))
    f:write(("not a zip at all\n"):rep(10))
    f:close()
    names, err = core.unzip(dir .. "/text.zip", dir .. "/out")
    assert.is_nil(names)
    assert.equal("ZIP_INVALID", err.code)
    local good = zips.build { { name = "a.txt", data = "hello world" } }
    local bad = good:gsub("hello world", "HELLO WORLD", 1)     -- data no longer matches its CRC
    f = assert(io.open(dir .. "/crc.zip", "wb"))
    f:write(bad)
    f:close()
    names, err = core.unzip(dir .. "/crc.zip", dir .. "/out")
    assert.is_nil(names)
    assert.equal("ZIP_INVALID", err.code)
    assert.is_false(exists(dir .. "/out"))
  end)

  it("checks its arguments", function()
    assert.has_error(function() core.unzip() end)
    assert.has_error(function() core.unzip("a.zip", "out", { max_bytes = "big" }) end)
    assert.has_error(function() core.unzip("a.zip", "out", { max_bytes = -1 }) end)
    assert.has_error(function() core.unzip("a.zip", "out", { max_ratio = "high" }) end)
    assert.has_error(function() core.mkdir("x", "0700") end)
    assert.has_error(function() core.mkdir("x", 4096) end)
  end)
end)

describe("core.mkdir and core.isatty", function()
  it("creates one folder level and accepts an existing folder", function()
    local dir = sandbox.tmpdir()
    assert.is_true(core.mkdir(dir .. "/a"))
    assert.is_true(core.mkdir(dir .. "/a"))
    local ok, err = core.mkdir(dir .. "/x/y")
    assert.is_nil(ok)
    assert.equal("io", err.kind)
    assert.equal("MKDIR_FAILED", err.code)
    assert.matches("cannot create directory", err.message)
    local f = assert(io.open(dir .. "/file", "wb"))
    f:close()
    assert.is_nil((core.mkdir(dir .. "/file")))
    assert.is_true(files.mkdirs(dir .. "/p/q/r"))
    assert.is_true(core.mkdir(dir .. "/p/q/r"))
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("tells a terminal from a file", function()
    assert.is_false(core.isatty(-1))
    assert.is_false(core.isatty(99999))
    local cmd = sandbox.lua_env() .. " " .. sandbox.lua() .. " -e 'print(require(\"hy3d.core\").isatty(1))'"
    local ok, out = sandbox.run(cmd .. " | cat")
    assert.is_true(ok, out)
    assert.equal("false", out:match("%a+"))
    ok, out = sandbox.run("script -qec " .. ("%q"):format(cmd) .. " /dev/null")   -- under a pseudo-terminal
    assert.is_true(ok, out)
    assert.equal("true", out:match("%a+"))
  end)
end)

describe("hy3d.files", function()
  it("makes a server's string a safe token for a file name, or nil", function()
    assert.equal("GLB", files.safe_token("GLB"))
    assert.equal("TEXTURE_IMAGE", files.safe_token("TEXTURE_IMAGE"))
    assert.equal("1357-abc", files.safe_token("1357-abc"))
    assert.equal("tmp_x", files.safe_token("/../../tmp/x"))
    assert.equal("a_b", files.safe_token("a/b"))
    assert.equal("x_y", files.safe_token("x\0y"))
    assert.equal("evil", files.safe_token("-evil-"))
    assert.equal(("A"):rep(32), files.safe_token(("A"):rep(5000)))
    assert.equal("ab", files.safe_token("ab__cd", 3))
    for _, bad in ipairs { "", ".", "..", "../..", "/", "\0", "_-_", 12, nil } do
      assert.is_nil(files.safe_token(bad))
    end
  end)

  it("names result files from the URL, else from their type", function()
    assert.equal("glb", files.extension("https://h/x/abc.glb?q-sign=1", "GLB"))
    assert.equal("zip", files.extension("https://h/x/abc.ZIP", "OBJ"))
    assert.equal("zip", files.extension("https://h/x/noext?x=a.b", "OBJ"))
    assert.equal("usdz", files.extension("https://h/x/y", "USDZ"))
    assert.equal("png", files.extension("https://h/x/y", "TEXTURE_IMAGE"))
    assert.equal("weird", files.extension("https://h/x/y", "WEIRD"))
    assert.equal("abcdefgh", files.extension("https://h/x/y.toolongext", "ABCDEFGHIJ"))
    assert.equal("bin", files.extension("https://h/x/y", "../.."))
    assert.equal("bin", files.extension("https://h/x/a.\0b", "/"))
    assert.equal("a/b", files.join("a/", "b"))
    assert.equal("b", files.join(".", "b"))
  end)
end)
