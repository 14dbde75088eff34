--[[
  mdStoreView: stores a symbol's view only if its version (tickCount) is higher than the stored
  one, and publishes it in the same step: views arriving out of order never move a symbol
  backwards, and subscribers see versions only grow.
  KEYS: 1 views hash, 2 versions hash, 3 history stream;
  ARGV: 1 symbol, 2 tickCount, 3 view JSON, 4 channel, 5 maxLen, 6 message JSON.
  Returns 1 if stored.
]]
--- @include "includes/publish"
local stored = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if tonumber(ARGV[2]) <= stored then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
publish(KEYS[3], ARGV[4], ARGV[5], ARGV[6])
return 1
