--[[
  mdBufferDepth: the flush buffer's depth (includes/buffer.lua), for GET /pipeline, the depth
  gauge and the flusher's loop.
  KEYS: 1 the flush buffer stream, 2 its counts hash.
  Returns { ticks, entries }.
]]
--- @include "includes/buffer"
local ticks, entries = bufferedTicks(KEYS[1], KEYS[2])
return { ticks, entries }
