--[[
  mdCalcA: calc-a in Redis: applies a chunk of ticks of ONE symbol to its state, in order, each
  tick exactly as if it came alone, atomically, so any number of consumer replicas and any
  concurrency never race. Per tick this is WindowState (libs/market-calc/src/lib/window-state.ts)
  step for step; the property tests prove that algorithm against the reference, the integration
  tests (apps/consumers/test/integration/calc-a-script.integration-spec.ts) prove this script
  against it too, one tick per call and in chunks.

  KEYS: 1 state hash, 2 last-N zset, 3 window zset (score ts), 4 window prices zset (score
        price), then 5… the dedupe key of each tick (the api's: DEDUPE_ACCEPTED accepted,
        DEDUPE_COUNTED counted here; renewed to ARGV 1 each time the script sees the event, so
        it outlives every job the queue keeps of it: tickMarkerTtlS of the job's own options).
  ARGV: 1 dedupe TTL s, 2 window ms, 3 N, 4 exact-below (window size under which sums are
        always recomputed), 5 the relative error bound past which the running sums are
        recomputed, then five per tick: event_id, ts, price, volume, source.

  Dedupe stays per event_id: a tick counted before (a redelivered job, a retry, the same tick in
  two chunks) changes nothing. A tick whose price, volume, product or addition to the running
  sums would not be a finite number is refused and nothing of it is written; the others of the
  chunk are applied. (Ingest bounds price and volume so this cannot happen through the api;
  this keeps a view computable whatever reaches the queue.)

  Returns: one character per tick (CountResult in dedupe.ts: 'c' counted now, 'd' counted
  before: a duplicate, 'x' refused as non-finite), then the summary after the chunk (includes/summary.lua; parseCalcAReply).
]]
--- @include "dedupe-states"
--- @include "includes/window"
--- @include "includes/summary"

local state, last, win, px = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl = ARGV[1]
local windowMs, lastN, exactBelow, tolerance = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local EPSILON = 2 ^ -53

local function finite(x) return x ~= nil and x == x and x > -math.huge and x < math.huge end

-- One tick: 'c' counted now, 'd' counted before (its marker renewed), 'x' refused.
local function apply(dedupeKey, id, tsText, priceText, volText, source)
  if redis.call('GET', dedupeKey) == DEDUPE_COUNTED then
    redis.call('EXPIRE', dedupeKey, ttl)
    return 'd'
  end
  local sums = redis.call('HMGET', state, 'vol', 'pv')
  local p, v = tonumber(priceText), tonumber(volText)
  if not (finite(p) and finite(v) and finite(p * v)
      and finite((tonumber(sums[1]) or 0) + v) and finite((tonumber(sums[2]) or 0) + p * v)) then
    return 'x'
  end
  redis.call('SET', dedupeKey, DEDUPE_COUNTED, 'EX', ttl)
  local ts, price, vol = tonumber(tsText), p, v
  redis.call('HINCRBY', state, 'count', 1)

  redis.call('ZADD', last, ts, id .. '\0' .. priceText)
  local n = redis.call('ZCARD', last)
  if n > lastN then redis.call('ZREMRANGEBYRANK', last, 0, n - lastN - 1) end

  local s = redis.call('HMGET', state, 'nts', 'nid', 'vol', 'pv', 'verr', 'pverr', 'nzv')
  local nts = tonumber(s[1])
  if (not nts) or ts > nts or (ts == nts and less(s[2], id)) then
    redis.call('HSET', state, 'nts', tsText, 'nid', id, 'nprice', priceText, 'nsource', source)
    nts = ts
  end
  local sumV, sumPV, errV, errPV, nzv = tonumber(s[3]) or 0, tonumber(s[4]) or 0, tonumber(s[5]) or 0, tonumber(s[6]) or 0, tonumber(s[7]) or 0
  -- Running sums with a bound on their rounding error (see WindowState.addToSums).
  local function add(ap, av, sign)
    local product = ap * av
    sumV = sumV + sign * av
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
      local oid, op, ov = fields(member)
      add(op, ov, -1)
      if ov > 0 then nzv = nzv - 1 end
      redis.call('ZREM', px, oid)
    end
    redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff)
  end
  local size = redis.call('ZCARD', win)
  if size < exactBelow or errV > tolerance * math.abs(sumV) or errPV > tolerance * math.abs(sumPV) then
    sumV, sumPV, errV, errPV = 0, 0, 0, 0
    for _, member in ipairs(redis.call('ZRANGE', win, 0, -1)) do
      local _, mp, mv = fields(member)
      sumV = sumV + mv
      sumPV = sumPV + mp * mv
    end
  end
  -- Exactly 0 while no tick of the window has a volume (running sums may hold ±ε).
  if nzv == 0 then sumV, sumPV = 0, 0 end
  redis.call('HSET', state, 'vol', num(sumV), 'pv', num(sumPV), 'verr', num(errV), 'pverr', num(errPV), 'nzv', nzv)
  return 'c'
end

local outcomes = {}
for i = 5, #KEYS do
  local a = 5 + 5 * (i - 5)
  outcomes[#outcomes + 1] = apply(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
end
local out = summary(state, last, win, px)
table.insert(out, 1, table.concat(outcomes))
return out
