-- busted output handler: gtest-style progress, then, when tests were skipped (pending), one line
-- naming each and why, and last one closing line "N passed, N failed" (failures and errors both
-- count as failed) for CI to read.
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.gtest")(options)
  busted.subscribe({ "suite", "end" }, function()
    local skipped = {}
    for _, p in ipairs(handler.pendings) do
      local why = type(p.message) == "string" and p.message:match("[^\n]*"):gsub("^[^%s:]+:%d+: ", "") or ""
      skipped[#skipped + 1] = why ~= "" and ("%s (%s)"):format(p.name, why) or p.name
    end
    if #skipped > 0 then
      io.write(("%d skipped: %s\n"):format(#skipped, table.concat(skipped, "; ")))
    end
    io.write(("%d passed, %d failed\n"):format(handler.successesCount,
      handler.failuresCount + handler.errorsCount))
    io.flush()
    return nil, true
  end)
  return handler
end
