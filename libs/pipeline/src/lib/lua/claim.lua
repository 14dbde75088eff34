--[[
  mdClaim: dedupe claim, with the two caps of the ingest checked in the same step (no extra
  round trip). Runs atomically, so several api replicas can race on the same keys without a lock.

  KEYS: 1 the set of known symbols, 2 the flush buffer stream, 3 its counts hash, 4… one
  dedupe key per tick.
  ARGV: 1 lease ms, 2 MAX_SYMBOLS, 3 BUFFER_MAX_TICKS, 4… the symbol of each tick.
  For each tick, one of (ClaimResult in dedupe.ts):
    1  claimed now: the key holds a short lease (DEDUPE_PENDING) until the caller commits; the
       symbol is already in the set;
    2  claimed now, and the symbol is new: the caller adds it to the set in its commit MULTI,
       so only a tick that is really stored registers its symbol (a failed commit leaves the
       set as it was). New symbols claimed earlier in this call count against the cap, but
       those of other requests claimed and not yet committed do not: concurrent requests can
       overshoot MAX_SYMBOLS by at most the new symbols of the batches in flight;
    0  already committed: the event was accepted before (key holds DEDUPE_ACCEPTED or
       DEDUPE_COUNTED);
   -1  pending: another request holds the lease and has not committed yet;
   -2  refused: a new symbol while the set already holds MAX_SYMBOLS (nothing written);
   -3  refused: the buffer holds BUFFER_MAX_TICKS ticks (includes/buffer.lua), counting those
       claimed before in this call (nothing written). Duplicates are still answered as such.
]]
--- @include "dedupe-states"
--- @include "includes/buffer"
local maxSymbols, bufferMax = tonumber(ARGV[2]), tonumber(ARGV[3])
local buffered = bufferedTicks(KEYS[2], KEYS[3])
local known = redis.call('SCARD', KEYS[1])
-- fresh: the new symbols claimed in this call; inSet: whether the set holds a symbol, read once
-- per symbol (nothing here adds to the set, so the first answer holds for the whole call).
local out, fresh, inSet = {}, {}, {}
for i = 4, #KEYS do
  local key, symbol = KEYS[i], ARGV[i]
  local mark = redis.call('GET', key)
  if mark == DEDUPE_PENDING then
    out[i - 3] = -1
  elseif mark then
    out[i - 3] = 0
  elseif buffered >= bufferMax then
    out[i - 3] = -3
  else
    if inSet[symbol] == nil then inSet[symbol] = redis.call('SISMEMBER', KEYS[1], symbol) == 1 end
    local isNew = not fresh[symbol] and not inSet[symbol]
    if isNew and known >= maxSymbols then
      out[i - 3] = -2
    else
      redis.call('SET', key, DEDUPE_PENDING, 'PX', ARGV[1])
      if isNew then
        fresh[symbol] = true
        known = known + 1
      end
      buffered = buffered + 1
      out[i - 3] = (isNew or fresh[symbol]) and 2 or 1
    end
  end
end
return out
