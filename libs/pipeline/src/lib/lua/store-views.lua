--[[
  mdStoreViews: the views of one /internal/agg-update, in one step. A view is refused when it
  claims more ticks than calc-a counted for its symbol (its tickCount above the state's
  `count`); then nothing of the post is written. Otherwise each view, in order, is stored only
  if its version (tickCount) is higher than the stored one, and published in the same step:
  views arriving out of order never move a symbol backwards, and subscribers see versions only
  grow.
  KEYS: 1 views hash, 2 versions hash, 3 history stream, 4… the calc-a state hash of each view.
  ARGV: 1 channel, 2 maxLen, then per view: symbol, tickCount, view JSON, message JSON.
  Returns one code per view: 1 stored, 0 not newer; or, when any view claims more than was
  counted, -1 for each such view and 0 for the others (nothing stored).
]]
--- @include "includes/publish"
local n = #KEYS - 3
local out, ahead = {}, false
for i = 1, n do
  local counted = tonumber(redis.call('HGET', KEYS[3 + i], 'count') or '0')
  if tonumber(ARGV[3 + 4 * (i - 1) + 1]) > counted then
    out[i] = -1
    ahead = true
  else
    out[i] = 0
  end
end
if ahead then return out end
for i = 1, n do
  local at = 3 + 4 * (i - 1)
  local symbol, tickCount = ARGV[at], tonumber(ARGV[at + 1])
  if tickCount > tonumber(redis.call('HGET', KEYS[2], symbol) or '-1') then
    redis.call('HSET', KEYS[2], symbol, ARGV[at + 1])
    redis.call('HSET', KEYS[1], symbol, ARGV[at + 2])
    publish(KEYS[3], ARGV[1], ARGV[2], ARGV[at + 3])
    out[i] = 1
  end
end
return out
