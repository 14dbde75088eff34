import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Lua scripts of the ingest and publish paths. Each runs atomically in Redis, so several
 * api replicas can race on the same keys without a lock.
 */

/**
 * Dedupe claim. For each KEYS[i] (a dedupe key), one of:
 *   1  claimed now: the key holds a short lease 'p' (ARGV[1] ms) until the caller commits;
 *   0  already committed: the event was accepted before (key holds '1');
 *  -1  pending: another request holds the lease and has not committed yet.
 */
const CLAIM = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, 'p', 'NX', 'PX', ARGV[1]) then
    out[i] = 1
  elseif redis.call('GET', key) == 'p' then
    out[i] = -1
  else
    out[i] = 0
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
  mdClaim(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  mdRelease(numKeys: number, ...args: string[]): Promise<number>;
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
  client.defineCommand('mdPublish', { lua: PUBLISH, numberOfKeys: 1 });
  client.defineCommand('mdStoreView', { lua: STORE_VIEW, numberOfKeys: 3 });
  return client as MdRedis;
}
