--[[
  mdCommit: the ingest commit's writes per tick, for every tick of a round in one call. It runs
  inside the round's MULTI, after each chunk's EXISTS and BullMQ add (IngestService.commit), so
  the api builds and parses one command per round here instead of three per tick.

  KEYS: 1 the flush buffer stream, 2 the history stream, 3… one dedupe key per tick.
  ARGV: 1 channel, 2 history maxLen, 3 dedupe TTL s, 4 the head of a tick.received message
  (TICK_RECEIVED_JSON_HEAD of @md/contracts), 5… each tick's JSON (an object), in KEYS' order.

  For each tick, in order:
    1. the append to the flush buffer (XADD, field `t`: the tick's JSON), which the flusher
       writes to Postgres from;
    2. the fast-path publish (includes/publish.lua: history XADD + PUBLISH with its seq) of the
       head followed by the tick's JSON without its opening brace: the bytes of
       JSON.stringify(tickReceivedMessage(tick));
    3. the dedupe commit: SET DEDUPE_ACCEPTED EX ttl.
  Steps 2 and 3 run only when 1 succeeded: a tick not buffered is not stored (the caller answers
  503 and releases its key), so it is neither published nor marked accepted. Each write is
  protected: a runtime error (WRONGTYPE, a stream out of ids) fails that tick's step alone, never
  the ticks after it. A failed publish or dedupe commit alone does not fail the tick.

  Returns one entry per tick: its buffer entry id, or 0 when its append failed (nothing of it
  was written); then, when any write failed, the first error's text. The ids make the caller's
  undo exact: it XDELs the entries of the ticks whose chunk was not queued, and only those.
]]
--- @include "dedupe-states"
--- @include "includes/publish"
local channel, maxLen, ttl, head = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local out, firstError = {}, nil

-- Records the first failure: an error reply of redis.pcall, or what a redis.call raised inside pcall.
local function failed(reply)
  if type(reply) == 'table' then reply = reply.err end
  firstError = firstError or tostring(reply)
end

for i = 3, #KEYS do
  local json = ARGV[i + 2]
  local id = redis.pcall('XADD', KEYS[1], '*', 't', json)
  if type(id) == 'table' then
    failed(id)
    out[i - 2] = 0
  else
    out[i - 2] = id
    local published, reason = pcall(publish, KEYS[2], channel, maxLen, head .. string.sub(json, 2))
    if not published then failed(reason) end
    local committed = redis.pcall('SET', KEYS[i], DEDUPE_ACCEPTED, 'EX', ttl)
    if committed.err then failed(committed) end
  end
end
if firstError then out[#out + 1] = firstError end
return out
