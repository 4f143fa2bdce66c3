-- Finds what the documentation tells a user to run: the ```lua and shell blocks of a Markdown file
-- and the `$ ` command lines of an example's header comment, each with a stable id (for
-- spec/tooling/readme_spec.lua, which runs them); and the links between the Markdown files, with the
-- anchors GitHub gives their headings (so the spec can check that each link lands).
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

-- The lines of a Markdown text with fenced code blocks blanked (kept as empty lines, so line
-- numbers stay): what remains is prose and headings.
local function prose_lines(text)
  local out, fence = {}, nil
  for line in (text .. "\n"):gmatch("(.-)\n") do
    local f = line:match("^(```+)")
    if fence then
      if f and line:match("^" .. fence .. "%s*$") then fence = nil end
      out[#out + 1] = ""
    elseif f then
      fence = f
      out[#out + 1] = ""
    else
      out[#out + 1] = line
    end
  end
  return out
end

--- The set of anchors GitHub gives a Markdown text's headings: the heading's text in lower case,
-- without punctuation but `-` and `_`, spaces turned to `-`; a repeated one gets `-1`, `-2`, ….
function M.anchors(text)
  local set, seen = {}, {}
  for _, line in ipairs(prose_lines(text)) do
    local h = line:match("^#+%s+(.-)%s*$")
    if h then
      local slug = h:lower():gsub("[^%w_%- \128-\255]", ""):gsub(" ", "-")
      local n = seen[slug]
      seen[slug] = (n or -1) + 1
      set[n and (slug .. "-" .. (n + 1)) or slug] = true
    end
  end
  return set
end

--- The relative links of a Markdown text, outside code: { target, path (before `#`, "" for a link
-- inside the page), anchor (after `#`, or nil), line }. Links with a scheme (https:, mailto:) are
-- left out.
function M.links(text)
  local links = {}
  for n, line in ipairs(prose_lines(text)) do
    line = line:gsub("``.-``", ""):gsub("`[^`]*`", "")
    for target in line:gmatch("%]%(([^)%s]+)%)") do
      if not target:match("^%a[%w+.-]*:") then
        local path, anchor = target:match("^([^#]*)#(.*)$")
        links[#links + 1] = { target = target, path = path or target, anchor = anchor, line = n }
      end
    end
  end
  return links
end

--- A relative path joined to the folder of the document it is written in ("" for the top),
-- with `.` and `..` resolved.
function M.join(dir, rel)
  local parts = {}
  for seg in ((dir ~= "" and dir .. "/" or "") .. rel):gmatch("[^/]+") do
    if seg == ".." then parts[#parts] = nil elseif seg ~= "." then parts[#parts + 1] = seg end
  end
  return table.concat(parts, "/")
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
