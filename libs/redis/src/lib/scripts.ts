import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Lua scripts of the ingest and publish paths. Each runs atomically in Redis, so several
 * api replicas can race on the same keys without a lock.
 */

/**
 * Dedupe claim, with the two caps of the ingest checked in the same step (no extra round trip).
 * KEYS: 1 the set of known symbols, 2 the flush buffer stream, 3… one dedupe key per tick.
 * ARGV: 1 lease ms, 2 MAX_SYMBOLS, 3 BUFFER_MAX_TICKS, 4… the symbol of each tick.
 * For each tick, one of:
 *   1  claimed now: the key holds a short lease 'p' until the caller commits; the symbol is
 *      already in the set;
 *   2  claimed now, and the symbol is new: the caller adds it to the set in its commit MULTI,
 *      so only a tick that is really stored registers its symbol (a failed commit leaves the
 *      set as it was). New symbols claimed earlier in this call count against the cap, but
 *      those of other requests claimed and not yet committed do not: concurrent requests can
 *      overshoot MAX_SYMBOLS by at most the new symbols of the batches in flight;
 *   0  already committed: the event was accepted before (key holds '1' or '2');
 *  -1  pending: another request holds the lease and has not committed yet;
 *  -2  refused: a new symbol while the set already holds MAX_SYMBOLS (nothing written);
 *  -3  refused: the buffer holds BUFFER_MAX_TICKS ticks, counting those claimed before in this
 *      call (nothing written). Duplicates are still answered as such.
 */
const CLAIM = `
local maxSymbols, bufferMax = tonumber(ARGV[2]), tonumber(ARGV[3])
local buffered = redis.call('XLEN', KEYS[2])
local known = redis.call('SCARD', KEYS[1])
local out, fresh = {}, {}
for i = 3, #KEYS do
  local key, symbol = KEYS[i], ARGV[i + 1]
  local mark = redis.call('GET', key)
  if mark == 'p' then
    out[i - 2] = -1
  elseif mark then
    out[i - 2] = 0
  elseif buffered >= bufferMax then
    out[i - 2] = -3
  else
    local isNew = not fresh[symbol] and redis.call('SISMEMBER', KEYS[1], symbol) == 0
    if isNew and known >= maxSymbols then
      out[i - 2] = -2
    else
      redis.call('SET', key, 'p', 'PX', ARGV[1])
      if isNew then
        fresh[symbol] = true
        known = known + 1
      end
      buffered = buffered + 1
      out[i - 2] = (isNew or fresh[symbol]) and 2 or 1
    end
  end
end
return out`;

/** Drops the leases of a failed commit, but never a committed key. */
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == 'p' then redis.call('DEL', key) end
end
return 0`;

/**
 * Undoes a tick whose enqueue failed inside the ingest MULTI. KEYS: 1 the tick's dedupe key,
 * 2 its job hash (or the dedupe key again when the job was written whole); ARGV: 1 the job's
 * data, 2 its timestamp. The dedupe key is the tick's own (this request claimed and wrote it).
 * The job hash is deleted only when it is the half-written one of this very add (same data,
 * same creation time): a failing command must never delete a key it did not create, such as
 * the complete job of an earlier send of the same event_id. Returns 1 if a job was deleted.
 */
const UNDO_ENQUEUE = `
redis.call('DEL', KEYS[1])
if KEYS[2] == KEYS[1] or redis.call('TYPE', KEYS[2])['ok'] ~= 'hash' then return 0 end
local job = redis.call('HMGET', KEYS[2], 'data', 'timestamp')
if job[1] == ARGV[1] and job[2] == ARGV[2] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0`;

/**
 * Publish with a sequence number, as a Lua function other scripts include: XADD the message
 * to the capped history stream (~maxLen entries), then PUBLISH it with the entry id spliced
 * in as "seq". In one script, so channel order == stream order for every publisher.
 * `json` must be a JSON object with at least one field.
 */
const PUBLISH_FN = `
local function publish(stream, channel, maxLen, json)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'm', json)
  redis.call('PUBLISH', channel, '{"seq":"' .. id .. '",' .. string.sub(json, 2))
  return id
end`;

/** KEYS[1] history stream; ARGV: channel, maxLen, message JSON. */
const PUBLISH = `${PUBLISH_FN}
return publish(KEYS[1], ARGV[1], ARGV[2], ARGV[3])`;

/**
 * Stores a symbol's view only if its version (tickCount) is higher than the stored one, and
 * publishes it in the same step: views arriving out of order never move a symbol backwards,
 * and subscribers see versions only grow. KEYS: views hash, versions hash, history stream;
 * ARGV: symbol, tickCount, view JSON, channel, maxLen, message JSON. Returns 1 if stored.
 */
const STORE_VIEW = `${PUBLISH_FN}
local stored = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1')
if tonumber(ARGV[2]) <= stored then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
publish(KEYS[3], ARGV[4], ARGV[5], ARGV[6])
return 1`;

export interface MdScripts {
  /** See CLAIM: numKeys = 2 + ticks. */
  mdClaim(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  mdRelease(numKeys: number, ...args: string[]): Promise<number>;
  mdUndoEnqueue(dedupeKey: string, jobKey: string, data: string, timestamp: number): Promise<number>;
  mdPublish(key: string, channel: string, maxLen: number, json: string): Promise<string>;
  mdStoreView(
    views: string,
    versions: string,
    history: string,
    symbol: string,
    tickCount: number,
    viewJson: string,
    channel: string,
    maxLen: number,
    messageJson: string,
  ): Promise<number>;
}

export type MdRedis = Redis & MdScripts;
export type MdPipeline = ChainableCommander & {
  mdPublish(key: string, channel: string, maxLen: number, json: string): ChainableCommander;
};

export function defineScripts(client: Redis): MdRedis {
  client.defineCommand('mdClaim', { lua: CLAIM });
  client.defineCommand('mdRelease', { lua: RELEASE });
  client.defineCommand('mdUndoEnqueue', { lua: UNDO_ENQUEUE, numberOfKeys: 2 });
  client.defineCommand('mdPublish', { lua: PUBLISH, numberOfKeys: 1 });
  client.defineCommand('mdStoreView', { lua: STORE_VIEW, numberOfKeys: 3 });
  return client as MdRedis;
}
