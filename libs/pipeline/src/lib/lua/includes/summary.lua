--[[
  A symbol's summary as calc-a left it (needs includes/window): count, newest ts, id, price,
  source, Σv, Σpv, window count, high, low, open price, then the last-N prices oldest first
  (the consumers' parseSummary decodes it). Empty when no tick of the symbol was counted.
]]
local function summary(state, last, win, px)
  local s = redis.call('HMGET', state, 'count', 'nts', 'nid', 'nprice', 'nsource', 'vol', 'pv', 'volc', 'pvc', 'cat')
  if not s[1] then return {} end
  -- Σv and Σpv are compensated sums (calc-a.lua): the text as stored while the compensation is 0, or
  -- when a calc-a before compensation wrote the sums after it ('cat' is then not the count).
  local current = tonumber(s[10]) == tonumber(s[1])
  local function sum(text, compensation)
    local c = current and tonumber(compensation) or 0
    if c == 0 then return text end
    return num(value(tonumber(text), c))
  end
  local size = redis.call('ZCARD', win)
  local low = redis.call('ZRANGE', px, 0, 0, 'WITHSCORES')
  local high = redis.call('ZRANGE', px, -1, -1, 'WITHSCORES')
  local open = redis.call('ZRANGE', win, 0, 0)
  local _, openPrice = fields(open[1])
  local out = { s[1], s[2], s[3], s[4], s[5], sum(s[6], s[8]), sum(s[7], s[9]), size, high[2], low[2], num(openPrice) }
  for _, member in ipairs(redis.call('ZRANGE', last, 0, -1)) do
    local _, p = fields(member)
    out[#out + 1] = num(p)
  end
  return out
end
