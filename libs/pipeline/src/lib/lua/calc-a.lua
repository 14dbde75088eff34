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
  two chunks or twice in one) changes nothing. A tick whose price, volume, product or addition
  to the running sums would not be a finite number is refused and nothing of it is written; the
  others of the chunk are applied. (Ingest bounds price and volume so this cannot happen through
  the api; this keeps a view computable whatever reaches the queue.)

  Σv and Σpv are compensated running sums ('vol' + 'volc', 'pv' + 'pvc'; the compensations count
  only while 'cat' equals 'count', i.e. no older script wrote the sums since), each with a bound on its
  error ('verr', 'pverr'); they are recomputed from the whole window only while it is small or
  when the bound could pass ARGV 5 of the sum ('recomputes' counts the latter: with compensation
  it is rare; plain running sums needed it every ~9,000 steps, 60-80 ms on a 60,000-tick window).

  Per chunk, not per tick (a tick cost ~15 commands, now ~4.5): the state hash is read once into
  locals and written once at the end; the last-N zset is trimmed, and the prices zset written,
  once at the end (nothing reads them in between). Each tick reads and changes the locals exactly
  where it read and wrote the keys before, so a chunk leaves what one call per tick leaves, also
  when a tick fails midway (flush runs before the error is raised; a key of the wrong type, a
  corrupted state, may fail the chunk at another point than one call per tick would). A number kept in a local
  equals the one read back before: %.17g round-trips every double, -0 included.

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

-- The state hash as the ticks so far left it; flush writes back what the chunk changed. `newest`:
-- the texts of the newest tick once a tick of this chunk is it; `summed`: a tick of this chunk got
-- as far as writing its sums.
local s = redis.call('HMGET', state, 'count', 'nts', 'nid', 'vol', 'pv', 'verr', 'pverr', 'nzv', 'volc', 'pvc', 'recomputes', 'cat')
local countBefore, nts, nid = tonumber(s[1]) or 0, tonumber(s[2]), s[3]
local count = countBefore
local vol, pv, verr, pverr, nzv = tonumber(s[4]) or 0, tonumber(s[5]) or 0, tonumber(s[6]) or 0, tonumber(s[7]) or 0, tonumber(s[8]) or 0
local volc, pvc, recomputes = tonumber(s[9]) or 0, tonumber(s[10]) or 0, tonumber(s[11]) or 0
-- The compensations belong to the sums only if this script wrote both ('cat': the count then). A calc-a
-- before compensation writes 'vol' and 'pv' alone, its plain sums, having read 'vol' without 'volc'
-- (as does a chunk that fails before its first sum): the compensation it left out joins the bound,
-- which then makes the next tick recompute if it matters.
if tonumber(s[12]) ~= countBefore then
  verr, pverr, volc, pvc = verr + math.abs(volc), pverr + math.abs(pvc), 0, 0
end
-- The count when a tick of this chunk last wrote the sums ('cat' when flushed).
local sumsAt = nil
local newest, summed = nil, false
local size = redis.call('ZCARD', win)
-- The window holds no member scored at or below this cutoff (the last one expired up to).
local expiredTo = nil

-- Keeps the N greatest of last-N, as trimming after each ZADD did.
local function trimLast()
  local n = redis.call('ZCARD', last)
  if n > lastN then redis.call('ZREMRANGEBYRANK', last, 0, n - lastN - 1) end
end
local lastGrew = false
-- Trimming once at the end keeps the same N as after each add, unless a member comes back
-- (counted again after its marker expired): then it is trimmed first, as it would have been.
local function addLast(ts, member)
  if redis.call('ZADD', last, 'NX', ts, member) == 0 then
    trimLast()
    redis.call('ZADD', last, ts, member)
  end
  lastGrew = true
end

-- The chunk's changes to the prices zset, the last per id winning as in the zset (false: removed).
local priceIds, prices = {}, {}
local function setPrice(id, price)
  if prices[id] == nil then priceIds[#priceIds + 1] = id end
  prices[id] = price
end
-- A variadic command over `args` in slices (Lua's unpack has a limit; a window can be large).
local function inSlices(command, key, args, step)
  for i = 1, #args, step do redis.call(command, key, unpack(args, i, math.min(i + step - 1, #args))) end
end

local function flush()
  if count > countBefore then
    local fields = { 'count', count }
    if newest then
      for _, x in ipairs({ 'nts', newest[1], 'nid', newest[2], 'nprice', newest[3], 'nsource', newest[4] }) do fields[#fields + 1] = x end
    end
    if summed then
      for _, x in ipairs({
        'vol', num(vol), 'pv', num(pv), 'volc', num(volc), 'pvc', num(pvc), 'verr', num(verr), 'pverr', num(pverr),
        'nzv', nzv, 'recomputes', recomputes, 'cat', sumsAt,
      }) do fields[#fields + 1] = x end
    end
    redis.call('HSET', state, unpack(fields))
  end
  if lastGrew then trimLast() end
  local added, removed = {}, {}
  for _, id in ipairs(priceIds) do
    if prices[id] then
      added[#added + 1] = prices[id]
      added[#added + 1] = id
    else
      removed[#removed + 1] = id
    end
  end
  inSlices('ZADD', px, added, 1000)
  inSlices('ZREM', px, removed, 1000)
end

-- One tick: 'c' counted now, 'd' counted before (its marker renewed), 'x' refused.
local function apply(dedupeKey, id, tsText, priceText, volText, source)
  local p, v = tonumber(priceText), tonumber(volText)
  if not (finite(p) and finite(v) and finite(p * v) and finite(vol + v) and finite(pv + p * v)) then
    if redis.call('GET', dedupeKey) ~= DEDUPE_COUNTED then return 'x' end
    redis.call('EXPIRE', dedupeKey, ttl)
    return 'd'
  end
  -- Marks it counted and answers whether it was already (then it only renewed the marker, as EXPIRE did).
  if redis.call('SET', dedupeKey, DEDUPE_COUNTED, 'EX', ttl, 'GET') == DEDUPE_COUNTED then return 'd' end
  local ts, price = tonumber(tsText), p
  count = count + 1

  addLast(ts, id .. '\0' .. priceText)

  if (not nts) or ts > nts or (ts == nts and less(nid, id)) then
    nts, nid, newest = ts, id, { tsText, id, priceText, source }
  end
  -- The sums as this tick changes them, kept when it completes (as the hash was written at its end).
  local sumV, sumPV, compV, compPV, errV, errPV, withVolume, recomputed = vol, pv, volc, pvc, verr, pverr, nzv, recomputes
  -- Compensated running sums with a bound on their error, operation for operation as
  -- WindowState's CompensatedSum: Fast2Sum's exact rounding error goes to the compensation, whose
  -- own addition is the only rounded step (ε·|compensation|).
  local function add(ap, av, sign)
    local x = sign * av
    local t = sumV + x
    if math.abs(sumV) >= math.abs(x) then compV = compV + ((sumV - t) + x) else compV = compV + ((x - t) + sumV) end
    sumV = t
    errV = errV + EPSILON * math.abs(compV)
    x = sign * (ap * av)
    t = sumPV + x
    if math.abs(sumPV) >= math.abs(x) then compPV = compPV + ((sumPV - t) + x) else compPV = compPV + ((x - t) + sumPV) end
    sumPV = t
    errPV = errPV + EPSILON * math.abs(compPV)
  end
  local cutoff = nts - windowMs
  if ts > cutoff then
    size = size + redis.call('ZADD', win, ts, id .. '\0' .. priceText .. '\0' .. volText)
    setPrice(id, price)
    add(price, v, 1)
    if v > 0 then withVolume = withVolume + 1 end
  end
  -- Expired up to this same cutoff already: every member added since scores above it.
  if cutoff ~= expiredTo then
    local old = redis.call('ZRANGEBYSCORE', win, '-inf', cutoff)
    if #old > 0 then
      for _, member in ipairs(old) do
        local oid, op, ov = fields(member)
        add(op, ov, -1)
        if ov > 0 then withVolume = withVolume - 1 end
        setPrice(oid, false)
      end
      size = size - redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff)
    end
    expiredTo = cutoff
  end
  local recompute = size < exactBelow
  if not recompute and (errV > tolerance * math.abs(value(sumV, compV)) or errPV > tolerance * math.abs(value(sumPV, compPV))) then
    recompute, recomputed = true, recomputed + 1
  end
  if recompute then
    -- Compensated too: a plain sum's own error would not be in the bound.
    sumV, sumPV, compV, compPV, errV, errPV = 0, 0, 0, 0, 0, 0
    for _, member in ipairs(redis.call('ZRANGE', win, 0, -1)) do
      local _, mp, mv = fields(member)
      add(mp, mv, 1)
    end
  end
  -- Exactly 0 while no tick of the window has a volume (running sums may hold ±ε).
  if withVolume == 0 then sumV, sumPV, compV, compPV, errV, errPV = 0, 0, 0, 0, 0, 0 end
  vol, pv, volc, pvc, verr, pverr, nzv, recomputes, summed, sumsAt = sumV, sumPV, compV, compPV, errV, errPV, withVolume, recomputed, true, count
  return 'c'
end

local outcomes = {}
local ok, err = pcall(function()
  for i = 5, #KEYS do
    local a = 5 + 5 * (i - 5)
    outcomes[#outcomes + 1] = apply(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
  end
end)
flush()
if not ok then error(err, 0) end
local out = summary(state, last, win, px)
table.insert(out, 1, table.concat(outcomes))
return out
