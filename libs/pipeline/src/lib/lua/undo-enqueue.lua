--[[
  mdUndoEnqueue: undoes ticks the ingest MULTI did not store (their chunk's enqueue failed, or
  their buffer append did).
  KEYS: 1 the chunk's job hash when its enqueue failed (or the first dedupe key again when the
  job was written whole: no job to delete), 2… the dedupe keys of the ticks not stored.
  ARGV: 1 the job's data, 2 its timestamp.
  The dedupe keys are the ticks' own (this request claimed and wrote them); one calc-a has
  counted meanwhile (DEDUPE_COUNTED: the job was written whole) stays, so a retry is never
  counted twice. The job hash is deleted only when it is the half-written one of this very add
  (same data, same creation time): a failing command must never delete a key it did not
  create, such as the complete job of another request. Returns 1 if a job was deleted.
]]
--- @include "dedupe-states"
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= DEDUPE_COUNTED then redis.call('DEL', KEYS[i]) end
end
if KEYS[1] == KEYS[2] or redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
local job = redis.call('HMGET', KEYS[1], 'data', 'timestamp')
if job[1] == ARGV[1] and job[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
