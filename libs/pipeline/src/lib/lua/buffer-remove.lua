--[[
  mdBufferRemove: deletes flush-buffer entries and takes their ticks out of the count
  (includes/buffer.lua): the flusher's acknowledgement after COMMIT, and ingest's undo of the
  entries of ticks it answered 503.
  KEYS: 1 the flush buffer stream, 2 its counts hash.
  ARGV: 1 the consumer group to acknowledge in ('' for none), then per entry its id and its
  ticks.
  An entry is counted out only when this call deleted it: two flushers acknowledging the same
  entry (one took it over from the other, which then came back) take its ticks out once. When
  the stream is left empty, the count is set to 0: whatever it drifted by is forgotten.
  Returns the number of entries deleted.
]]
local stream, counts, group = KEYS[1], KEYS[2], ARGV[1]
local ids, deleted, ticks = {}, 0, 0
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  if redis.call('XDEL', stream, ARGV[i]) == 1 then
    deleted = deleted + 1
    ticks = ticks + tonumber(ARGV[i + 1])
  end
end
-- One XACK for every id (the caller sends 1,000 entries at most: within what unpack takes).
if group ~= '' and #ids > 0 then redis.call('XACK', stream, group, unpack(ids)) end
if redis.call('XLEN', stream) == 0 then
  redis.call('HSET', counts, 'buffered', 0)
elseif ticks > 0 then
  redis.call('HINCRBY', counts, 'buffered', -ticks)
end
return deleted
