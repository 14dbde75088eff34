--[[
  mdRelease: drops the leases of a failed commit, but never a committed key (one that holds
  DEDUPE_ACCEPTED or DEDUPE_COUNTED). KEYS: the dedupe keys of the commit.
]]
--- @include "dedupe-states"
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == DEDUPE_PENDING then redis.call('DEL', key) end
end
return 0
