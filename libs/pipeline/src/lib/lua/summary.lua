--[[
  mdSummary: a symbol's current summary, read atomically (calc-b builds its view from it, so a
  view is always the state of one moment: exactly the reference view of its tickCount).
  KEYS: 1 state hash, 2 last-N zset, 3 window zset, 4 window prices zset (as calc-a.lua).
  Returns includes/summary's layout; empty when no tick of the symbol was counted.
]]
--- @include "includes/window"
--- @include "includes/summary"
return summary(KEYS[1], KEYS[2], KEYS[3], KEYS[4])
