--[[
  mdCommit: the ingest commit's writes, for every tick of a round in one call. It runs inside
  the round's MULTI, after each chunk's EXISTS and BullMQ add (IngestService.commit), so the api
  builds and parses one command per round here instead of several per tick.

  KEYS: 1 the flush buffer stream, 2 its counts hash, 3 the history stream, 4… one dedupe key
  per tick.
  ARGV: 1 channel, 2 history maxLen, 3 dedupe TTL s, 4 the head of a tick.received message
  (TICK_RECEIVED_JSON_HEAD of @md/contracts), 5 the entries' field: `b` for one entry per chunk,
  `t` for one entry per tick, then per tick, in KEYS' order, two values: the number of its chunk (1, 2, …: the round's
  BullMQ jobs, at most BUFFER_ENTRY_MAX_TICKS ticks each) and its JSON (an object).

  First, per chunk, the append to the flush buffer the flusher writes to Postgres from: one
  entry (XADD, field `b`: the JSON array of the chunk's ticks, in KEYS' order), whose ticks are
  added to the counts hash (`buffered`, what includes/buffer.lua reads; `added`, every tick
  ever appended). With ARGV[5] `t` (a flusher of a version before chunked entries is running:
  it would read a `b` entry as unreadable), one entry per tick instead (field `t`: the tick's
  JSON), counted in `added` only (includes/buffer.lua counts such an entry as one tick, and the
  flusher takes none out of `buffered` for it); when one of a chunk's appends fails, the entries appended before it
  are deleted, so a chunk is appended whole or not at all. Then, per tick in KEYS' order
  (arrival order), only when its chunk was appended:
    1. the fast-path publish (includes/publish.lua: history XADD + PUBLISH with its seq) of the
       head followed by the tick's JSON without its opening brace: the bytes of
       JSON.stringify(tickReceivedMessage(tick));
    2. the dedupe commit: SET DEDUPE_ACCEPTED EX ttl.
  A tick not buffered is not stored (the caller answers 503 and releases its key), so it is
  neither published nor marked accepted. Each write is protected: a runtime error (WRONGTYPE,
  a stream out of ids) fails that chunk's append or that tick's step alone, never the others.
  A failed publish or dedupe commit alone does not fail the tick.

  Returns one value per chunk: its buffer entry id (with one entry per tick, its ticks' entry ids
  separated by spaces), or 0 when its append failed (nothing of its ticks was written); then,
  when any write failed, the first error's text. The ids make the
  caller's undo exact: it removes the entries of the chunks that were not queued, and only those.
]]
--- @include "dedupe-states"
--- @include "includes/publish"
local channel, maxLen, ttl, head, chunked = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == 'b'
local chunks, firstError = {}, nil

-- Records the first failure: an error reply of redis.pcall, or what a redis.call raised inside pcall.
local function failed(reply)
  if type(reply) == 'table' then reply = reply.err end
  firstError = firstError or tostring(reply)
end

for i = 4, #KEYS do
  local chunk = tonumber(ARGV[2 * i - 2])
  local members = chunks[chunk]
  if not members then
    members = {}
    for c = #chunks + 1, chunk do chunks[c] = {} end
    chunks[chunk] = members
  end
  members[#members + 1] = ARGV[2 * i - 1]
end

-- One entry per tick: the ids of the chunk's entries separated by spaces, or 0 (the chunk's
-- appends before the failed one deleted again).
local function appendTicks(members)
  local ids = {}
  for _, json in ipairs(members) do
    local id = redis.pcall('XADD', KEYS[1], '*', 't', json)
    if type(id) == 'table' then
      failed(id)
      for _, appended in ipairs(ids) do redis.pcall('XDEL', KEYS[1], appended) end
      return 0
    end
    ids[#ids + 1] = id
  end
  return table.concat(ids, ' ')
end

local out, appended = {}, 0
for c, members in ipairs(chunks) do
  local id = 0
  if #members > 0 and not chunked then
    id = appendTicks(members)
    if id ~= 0 then appended = appended + #members end
  elseif #members > 0 then
    id = redis.pcall('XADD', KEYS[1], '*', 'b', '[' .. table.concat(members, ',') .. ']')
    if type(id) == 'table' then
      failed(id)
      id = 0
    else
      appended = appended + #members
    end
  end
  out[c] = id
end
if appended > 0 then
  for _, field in ipairs(chunked and { 'buffered', 'added' } or { 'added' }) do
    local counted = redis.pcall('HINCRBY', KEYS[2], field, appended)
    if type(counted) == 'table' then failed(counted) end
  end
end

for i = 4, #KEYS do
  if out[tonumber(ARGV[2 * i - 2])] ~= 0 then
    local json = ARGV[2 * i - 1]
    local published, reason = pcall(publish, KEYS[3], channel, maxLen, head .. string.sub(json, 2))
    if not published then failed(reason) end
    local committed = redis.pcall('SET', KEYS[i], DEDUPE_ACCEPTED, 'EX', ttl)
    if committed.err then failed(committed) end
  end
end
if firstError then out[#out + 1] = firstError end
return out
