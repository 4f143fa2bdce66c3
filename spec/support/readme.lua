-- Finds what the documentation tells a user to run: the ```lua and shell blocks of a Markdown file
-- and the `$ ` command lines of an example's header comment, each with a stable id (for
-- spec/tooling/readme_spec.lua, which runs them).
local M = {}

-- Fence languages whose blocks are shell commands, and those whose blocks are Lua.
M.SHELL = { sh = true, bash = true, shell = true, console = true }
M.LUA = { lua = true }

-- The marker a Lua block starts with when it goes on from the Lua block before it in the file.
M.CONTINUES = "^%-%-%s*continues the block above"

-- The `$ ` lines of a text, as shell lines: a line ending with `\` goes on with the next line.
local function dollar_lines(text)
  local out, pending = {}, nil
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if pending then
      pending = pending .. "\n" .. line
      if not line:match("\\%s*$") then out[#out + 1] = pending; pending = nil end
    else
      local cmd = line:match("^%s*%$ (.*)$")
      if cmd then
        if cmd:match("\\%s*$") then pending = cmd else out[#out + 1] = cmd end
      end
    end
  end
  if pending then out[#out + 1] = pending end
  return out
end
M.dollar_lines = dollar_lines

--- The runnable blocks of a Markdown text: { id, file, line, lang, kind ("lua" | "sh"), code,
-- heading, continues (the id of the block it goes on from), script (the code to run: for a
-- continuing Lua block, the blocks it goes on from first) }. A console block's code is its `$ `
-- lines. The id is "FILE § HEADING #N": the N-th runnable block under the nearest heading.
function M.markdown(text, file)
  local blocks, heading, count = {}, "(top)", {}
  local lines = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  local i = 1
  while i <= #lines do
    local line = lines[i]
    local h = line:match("^#+%s+(.-)%s*$")
    local fence, lang = line:match("^(```+)%s*([%w_+-]*)")
    if h then
      heading = h
      i = i + 1
    elseif fence then
      local start, body = i, {}
      i = i + 1
      while i <= #lines and not lines[i]:match("^" .. fence .. "%s*$") do
        body[#body + 1] = lines[i]
        i = i + 1
      end
      i = i + 1
      lang = lang:lower()
      local kind = M.LUA[lang] and "lua" or M.SHELL[lang] and "sh" or nil
      if kind then
        local code = table.concat(body, "\n") .. "\n"
        if lang == "console" then code = table.concat(dollar_lines(code), "\n") .. "\n" end
        count[heading] = (count[heading] or 0) + 1
        blocks[#blocks + 1] = { id = ("%s § %s #%d"):format(file, heading, count[heading]), file = file,
                                line = start, lang = lang, kind = kind, code = code, heading = heading }
      end
    else
      i = i + 1
    end
  end
  -- continuing Lua blocks: the script is the previous Lua block's script, then this one
  local last_lua
  for _, b in ipairs(blocks) do
    b.script = b.code
    if b.kind == "lua" then
      if b.code:match(M.CONTINUES) then
        assert(last_lua, ("%s:%d continues a block, but no Lua block comes before it"):format(file, b.line))
        b.continues = last_lua.id
        b.script = last_lua.script .. b.code
      end
      last_lua = b
    end
  end
  return blocks
end

--- The header comment of a Lua file (its first --[[ ... ]] comment), or nil.
function M.header(source)
  return source:match("%-%-%[%[(.-)%]%]")
end

--- The commands of an example's header comment as one shell block ({ id, file, line, kind = "sh",
-- code, cwd = "checkout": each says "from the top of a checkout" }), or nil when it has no `$ ` line.
function M.example(source, file)
  local header = M.header(source)
  if not header then return nil end
  local cmds = dollar_lines(header)
  if #cmds == 0 then return nil end
  local line = 1
  for _ in source:sub(1, (source:find("%$ ", 1, false))):gmatch("\n") do line = line + 1 end
  local code = table.concat(cmds, "\n") .. "\n"
  return { id = file .. " header", file = file, line = line, lang = "sh", kind = "sh", code = code, script = code,
           cwd = "checkout" }
end

return M
