-- hy3d.batch's file parser (prompt lines, JSON lines, CSV), its errors naming the line, and the key's canonical JSON.
local batch = require "hy3d.batch"

describe("hy3d.batch.parse", function()
  it("reads one prompt per line, skipping blank lines and # comments, with line numbers", function()
    local items = assert(batch.parse("# header\n\na wooden chair\r\n  a red teapot  \n#a, comment\n"))
    assert.same({ { params = { Prompt = "a wooden chair" }, line = 3 },
                  { params = { Prompt = "a red teapot" }, line = 4 } }, items)
  end)

  it("reads JSON lines: name taken out, the rest sent as given", function()
    local items = assert(batch.parse('{"name":"chair","Prompt":"a chair","EnablePBR":true}\n{"Prompt":"x","FaceCount":40000}\n'))
    assert.same({ name = "chair", params = { Prompt = "a chair", EnablePBR = true }, line = 1 }, items[1])
    assert.same({ params = { Prompt = "x", FaceCount = 40000 }, line = 2 }, items[2])
  end)

  it("reads CSV with quotes, an options column and extra columns", function()
    local items = assert(batch.parse('Name, Prompt, options, FaceCount\n'
      .. 'chair,"a chair, ""red""",{"EnablePBR":true},40000\nlamp,a lamp,,\n,a stool\n'))
    assert.same({ name = "chair", params = { Prompt = 'a chair, "red"', EnablePBR = true, FaceCount = 40000 }, line = 2 },
      items[1])
    assert.same({ name = "lamp", params = { Prompt = "a lamp" }, line = 3 }, items[2])
    assert.same({ params = { Prompt = "a stool" }, line = 4 }, items[3])
  end)

  it("names the first bad line, with kind invalid and code BATCH_LINE", function()
    for _, case in ipairs {
      { "a chair\n{\"Prompt\": \n", 2, "not a JSON object" },
      { "a\nb\n[1,2]\n{\"name\": 5, \"Prompt\": \"x\"}\n", 4, "name" },
      { "{\"name\": \"only\"}\n", 1, "needs API fields" },
      { "name,prompt\na,b,c\n", 2, "the header has 2" },
      { "name,prompt\na,\"b\n", 2, "not closed" },
      { "name,prompt\na,\"b\"c\n", 2, "after a quoted field" },
      { "name,prompt,options\na,b,[1]\n", 2, "options is not a JSON object" },
      { "name,prompt\nx,\n", 2, "no prompt" },
    } do
      local items, err = batch.parse(case[1])
      assert.is_nil(items)
      assert.same({ "invalid", "BATCH_LINE", case[2] }, { err.kind, err.code, err.line })
      assert.matches("^line " .. case[2] .. ": ", err.message)
      assert.matches(case[3], err.message, 1, true)
    end
  end)

  it("reads examples/prompts.txt", function()
    local f = assert(io.open("examples/prompts.txt", "rb"))
    local items = assert(batch.parse(f:read("*a")))
    f:close()
    assert.equal(5, #items)
    assert.same({ name = "lantern", params = { Prompt = "an old brass lantern", EnablePBR = true }, line = 8 }, items[4])
  end)

  it("says an empty file has no jobs, and raises for a non-string", function()
    local items, err = batch.parse("# only\n\n  \n")
    assert.is_nil(items)
    assert.equal("BATCH_EMPTY", err.code)
    assert.has_error(function() batch.parse(nil) end)
  end)
end)

describe("hy3d.batch's key", function()
  it("hashes params by sorted keys, so a table's order does not change the key", function()
    assert.equal('{"a":1,"b":{"c":[1,2],"d":"x"}}', batch.canonical { b = { d = "x", c = { 1, 2 } }, a = 1 })
    assert.equal('{"Prompt":"p","kind":"pro"}', batch.canonical { kind = "pro", Prompt = "p" })
  end)
end)
