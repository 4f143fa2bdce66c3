-- LÖVE configuration for the hy3d example. With HY3D_HEADLESS_FRAMES=N set, the game runs
-- without a window or graphics (for tests and CI: no display needed) and stops after at most N
-- frames; see README.md in this folder.
local headless = tonumber(os.getenv("HY3D_HEADLESS_FRAMES") or "")

function love.conf(t)
  t.identity = "hy3d-love"
  t.version = "11.4"
  t.console = false
  t.modules.joystick = false
  t.modules.physics = false
  t.modules.touch = false
  t.modules.video = false
  t.modules.audio = false                -- the game makes no sound
  t.modules.sound = false
  if headless then
    t.window = false
    t.modules.window = false
    t.modules.graphics = false
    t.modules.mouse = false
    t.modules.keyboard = false
  else
    t.window.title = "hy3d — Hunyuan 3D from LÖVE"
    t.window.width = 960
    t.window.height = 600
    t.window.vsync = 1
    t.window.resizable = true
  end
end
