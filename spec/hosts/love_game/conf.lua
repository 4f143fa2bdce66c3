-- spec/hosts/love_game/conf.lua: LÖVE configuration of the spec game: headless (no window, no graphics).
function love.conf(t)
  t.identity = "hy3d-love-spec"
  t.version = "11.4"
  t.window = false
  for _, m in ipairs { "window", "graphics", "mouse", "keyboard", "joystick", "physics", "touch", "video",
                       "audio", "sound" } do
    t.modules[m] = false
  end
end
