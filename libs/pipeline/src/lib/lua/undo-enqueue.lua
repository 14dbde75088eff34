--[[
  mdUndoEnqueue: undoes a tick whose enqueue failed inside the ingest MULTI.
  KEYS: 1 the tick's dedupe key, 2 its job hash (or the dedupe key again when the job was
  written whole); ARGV: 1 the job's data, 2 its timestamp.
  The dedupe key is the tick's own (this request claimed and wrote it). The job hash is deleted
  only when it is the half-written one of this very add (same data, same creation time): a
  failing command must never delete a key it did not create, such as the complete job of an
  earlier send of the same event_id. Returns 1 if a job was deleted.
]]
redis.call('DEL', KEYS[1])
if KEYS[2] == KEYS[1] or redis.call('TYPE', KEYS[2])['ok'] ~= 'hash' then return 0 end
local job = redis.call('HMGET', KEYS[2], 'data', 'timestamp')
if job[1] == ARGV[1] and job[2] == ARGV[2] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
