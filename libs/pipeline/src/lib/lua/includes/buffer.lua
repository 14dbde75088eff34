--[[
  The flush buffer's depth in ticks, as a Lua function other scripts include. The buffer is a
  stream of entries of up to BUFFER_ENTRY_MAX_TICKS ticks each (one per ingest chunk, field `b`;
  an api before chunked entries appended one tick per entry, field `t`), so XLEN counts entries,
  not ticks. The counts hash's `buffered` field counts the ticks: mdCommit adds each entry's,
  mdBufferRemove takes back those of the entries it deletes. It is read within what XLEN allows
  (at least one tick per entry, at most BUFFER_ENTRY_MAX_TICKS), so a count that drifted (an
  older api's entries, which it never counted; an unreadable entry taken back as one tick) is
  never read as fewer ticks than entries nor as more than the entries can hold.
]]
local function bufferedTicks(stream, counts)
  local entries = redis.call('XLEN', stream)
  local counted = tonumber(redis.call('HGET', counts, 'buffered')) or 0
  return math.max(entries, math.min(counted, entries * BUFFER_ENTRY_MAX_TICKS)), entries
end
