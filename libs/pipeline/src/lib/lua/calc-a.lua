--[[
  mdCalcA: calc-a in Redis: applies one tick to its symbol's state, atomically, so any number
  of consumer replicas and any concurrency never race. This is WindowState
  (libs/market-calc/src/lib/window-state.ts) step for step; the property tests prove that
  algorithm against the reference, the integration tests
  (apps/consumers/test/integration/calc-a-script.integration-spec.ts) prove this script against it too.

  KEYS: 1 dedupe key of the event (the api's: DEDUPE_ACCEPTED accepted, DEDUPE_COUNTED counted
        here; renewed to ARGV 6 each time the script sees the event, so it outlives every job
        the queue keeps of it: tickMarkerTtlS of the job's own options, see tickJobOptions),
        2 state hash, 3 last-N zset, 4 window zset (score ts), 5 window prices zset (score price).
  ARGV: 1 event_id, 2 ts, 3 price, 4 volume, 5 source, 6 dedupe TTL s, 7 window ms, 8 N,
        9 exact-below (window size under which sums are always recomputed), 10 the relative
        error bound past which the running sums are recomputed.
  Numbers travel as strings (JS shortest round-trip form in, %.17g out), so no precision is
  lost crossing the Lua boundary. Members are "event_id\0price[\0volume]": for equal scores a
  sorted set orders members by bytes, and "\0" sorts before every character of an event_id,
  so equal-ts ticks sort by event_id exactly as compareTicks does.

  A tick whose price, volume, product or addition to the running sums would not be a finite
  number is refused before anything is written: the script answers an error starting with
  NONFINITE and the state stays as it was. (Ingest bounds price and volume so this cannot
  happen through the api; this keeps a view computable whatever reaches the queue.)

  Returns: fresh (1/0), count, newest ts, id, price, source, Σv, Σpv, window count,
           high, low, open price, then the last-N prices oldest first (parseCalcAReply).
]]
--- @include "dedupe-states"
local function num(x) return string.format('%.17g', x) end
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

local state, last, win, px = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, tsText, priceText, volText = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local windowMs, lastN, exactBelow, tolerance = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local EPSILON = 2 ^ -53

local function finite(x) return x ~= nil and x == x and x > -math.huge and x < math.huge end

local mark = redis.call('GET', KEYS[1])
local fresh = 0
if mark ~= DEDUPE_COUNTED then
  local sums = redis.call('HMGET', state, 'vol', 'pv')
  local p, v = tonumber(priceText), tonumber(volText)
  if not (finite(p) and finite(v) and finite(p * v)
      and finite((tonumber(sums[1]) or 0) + v) and finite((tonumber(sums[2]) or 0) + p * v)) then
    return redis.error_reply('NONFINITE tick ' .. id .. ': price ' .. priceText .. ' and volume ' .. volText ..
      ' would make the window sums non-finite; nothing stored')
  end
  fresh = 1
  redis.call('SET', KEYS[1], DEDUPE_COUNTED, 'EX', ARGV[6])
  local ts, price, vol = tonumber(tsText), tonumber(priceText), tonumber(volText)
  redis.call('HINCRBY', state, 'count', 1)

  redis.call('ZADD', last, ts, id .. '\0' .. priceText)
  local n = redis.call('ZCARD', last)
  if n > lastN then redis.call('ZREMRANGEBYRANK', last, 0, n - lastN - 1) end

  local s = redis.call('HMGET', state, 'nts', 'nid', 'vol', 'pv', 'verr', 'pverr', 'nzv')
  local nts = tonumber(s[1])
  if (not nts) or ts > nts or (ts == nts and less(s[2], id)) then
    redis.call('HSET', state, 'nts', tsText, 'nid', id, 'nprice', priceText, 'nsource', ARGV[5])
    nts = ts
  end
  local sumV, sumPV, errV, errPV, nzv = tonumber(s[3]) or 0, tonumber(s[4]) or 0, tonumber(s[5]) or 0, tonumber(s[6]) or 0, tonumber(s[7]) or 0
  -- Running sums with a bound on their rounding error (see WindowState.addToSums).
  local function add(p, v, sign)
    local product = p * v
    sumV = sumV + sign * v
    sumPV = sumPV + sign * product
    errV = errV + EPSILON * math.abs(sumV)
    errPV = errPV + EPSILON * (math.abs(sumPV) + math.abs(product))
  end
  local cutoff = nts - windowMs
  if ts > cutoff then
    redis.call('ZADD', win, ts, id .. '\0' .. priceText .. '\0' .. volText)
    redis.call('ZADD', px, price, id)
    add(price, vol, 1)
    if vol > 0 then nzv = nzv + 1 end
  end
  local old = redis.call('ZRANGEBYSCORE', win, '-inf', cutoff)
  if #old > 0 then
    for _, member in ipairs(old) do
      local oid, p, v = fields(member)
      add(p, v, -1)
      if v > 0 then nzv = nzv - 1 end
      redis.call('ZREM', px, oid)
    end
    redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff)
  end
  local size = redis.call('ZCARD', win)
  if size < exactBelow or errV > tolerance * math.abs(sumV) or errPV > tolerance * math.abs(sumPV) then
    sumV, sumPV, errV, errPV = 0, 0, 0, 0
    for _, member in ipairs(redis.call('ZRANGE', win, 0, -1)) do
      local _, p, v = fields(member)
      sumV = sumV + v
      sumPV = sumPV + p * v
    end
  end
  -- Exactly 0 while no tick of the window has a volume (running sums may hold ±ε).
  if nzv == 0 then sumV, sumPV = 0, 0 end
  redis.call('HSET', state, 'vol', num(sumV), 'pv', num(sumPV), 'verr', num(errV), 'pverr', num(errPV), 'nzv', nzv)
end

if fresh == 0 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end

local s = redis.call('HMGET', state, 'count', 'nts', 'nid', 'nprice', 'nsource', 'vol', 'pv')
local size = redis.call('ZCARD', win)
local low = redis.call('ZRANGE', px, 0, 0, 'WITHSCORES')
local high = redis.call('ZRANGE', px, -1, -1, 'WITHSCORES')
local open = redis.call('ZRANGE', win, 0, 0)
local _, openPrice = fields(open[1])
local out = { fresh, s[1], s[2], s[3], s[4], s[5], s[6], s[7], size, high[2], low[2], num(openPrice) }
for _, member in ipairs(redis.call('ZRANGE', last, 0, -1)) do
  local _, p = fields(member)
  out[#out + 1] = num(p)
end
return out
