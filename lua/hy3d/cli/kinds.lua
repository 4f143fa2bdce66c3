--- hy3d.cli.kinds: the job families on the command line: HY3D_KINDS (families added at run time, each
-- registered with hy3d.kinds.register before the command runs) and which --kind a command takes, listed
-- from the library's table (require("hy3d").kinds), never a copy. Version-neutral Lua (5.1 to 5.4, LuaJIT).
local exit = require "hy3d.cli.exit"

local concat = table.concat
local usage_error = exit.usage_error

local M = {}

-- The families whose parameters the job flags (--image, --model, ...) build: the others a command
-- submits are those added at run time, which are sent the prompt and image as given.
local FLAG_FAMILIES = { pro = true, rapid = true }

local function kinds()
  return require("hy3d").kinds
end

--- Registers the families of HY3D_KINDS ("NAME=SUBMIT,QUERY", several separated by ';'), read with
-- ctx.getenv. A name registered before (an earlier run in this process) is replaced; a built-in one
-- is refused. Returns true, or nil and a usage error that names HY3D_KINDS.
function M.load(ctx)
  local spec = ctx.getenv("HY3D_KINDS")
  if spec == nil or spec:match("^%s*$") then return true end
  local k = kinds()
  for entry in spec:gmatch("[^;]+") do
    if not entry:match("^%s*$") then
      local name, submit, query = entry:match("^%s*([^=%s]+)%s*=%s*([^,%s]+)%s*,%s*([^,%s]+)%s*$")
      if not name then
        return nil, usage_error("HY3D_KINDS is NAME=SUBMIT,QUERY entries separated by ';', e.g. "
          .. "animation=SubmitCharacterToAnimationJob,DescribeCharacterToAnimationJob")
      end
      local have = k.get(name)
      if have and have.builtin then
        return nil, usage_error(("HY3D_KINDS: %s is a built-in kind (HY3D_KINDS adds kinds)"):format(name))
      end
      local ok, err = pcall(k.register, { name = name, submit = submit, query = query, replace = have and true or nil })
      if not ok then
        return nil, usage_error("HY3D_KINDS: " .. tostring(err):gsub("^.-hy3d%.kinds%.register: ", ""))
      end
    end
  end
  return true
end

--- The kinds `hy3d submit` and `hy3d generate` take: pro, rapid and every family added at run time.
function M.job_kinds()
  local list = {}
  for _, name in ipairs(kinds().list()) do
    local f = kinds().get(name)
    if FLAG_FAMILIES[name] or not f.builtin then list[#list + 1] = name end
  end
  return list
end

--- `kind` when submit and generate take it, else nil and a usage error listing those they take.
function M.job_kind(kind)
  for _, name in ipairs(M.job_kinds()) do
    if name == kind then return kind end
  end
  return nil, usage_error("--kind is " .. concat(M.job_kinds(), ", ")
    .. " (HY3D_KINDS adds one: NAME=SUBMIT,QUERY)")
end

--- True when `kind` is one whose parameters the job flags build (pro, rapid).
function M.from_flags(kind)
  return FLAG_FAMILIES[kind] == true
end

--- `kind` when it names a family (status, wait and download take any), else nil and a usage error
-- (`recorded`: the kind came from the job record, not from --kind).
function M.any_kind(kind, recorded)
  if kinds().get(kind) then return kind end
  if recorded then
    local name = tostring(kind):sub(1, 64):gsub("[^%w_]", "?")
    return nil, usage_error(("the job record says this is a %s job, a kind this hy3d does not have: add it with "
      .. "HY3D_KINDS=%s=SUBMIT,QUERY, or give --kind"):format(name, name))
  end
  return nil, usage_error("--kind is one of " .. concat(kinds().list(), ", "))
end

return M
