--[[
  The helpers of the window scripts (calc-a.lua, summary.lua). Numbers travel as strings (JS
  shortest round-trip form in, %.17g out), so no precision is lost crossing the Lua boundary.
  Members are "event_id\0price[\0volume]": for equal scores a sorted set orders members by
  bytes, and "\0" sorts before every character of an event_id, so equal-ts ticks sort by
  event_id exactly as compareTicks does.
]]
local function num(x) return string.format('%.17g', x) end
-- A compensated sum's value (WindowState's CompensatedSum.value): no addition while the
-- compensation is 0, so -0 stays -0.
local function value(sum, compensation)
  if compensation == 0 then return sum end
  return sum + compensation
end
-- Byte order, like sorted sets; Lua's own < on strings follows the locale.
local function less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function fields(member)
  local id, p, v = string.match(member, '^(.-)%z([^%z]*)%z?([^%z]*)$')
  return id, tonumber(p), tonumber(v)
end
