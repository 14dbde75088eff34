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
 * Publish with a sequence number: XADD the message to the capped history stream
 * (KEYS[1], ~ARGV[2] entries), then PUBLISH it on ARGV[1] with the entry id spliced in as
 * "seq". Both in one script, so channel order == stream order for every publisher.
 * ARGV[3] must be a JSON object with at least one field.
 */
const PUBLISH = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
redis.call('PUBLISH', ARGV[1], '{"seq":"' .. id .. '",' .. string.sub(ARGV[3], 2))
return id`;

export interface MdScripts {
  mdClaim(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  mdRelease(numKeys: number, ...args: string[]): Promise<number>;
  mdPublish(key: string, channel: string, maxLen: number, json: string): Promise<string>;
}

export type MdRedis = Redis & MdScripts;
export type MdPipeline = ChainableCommander & {
  mdPublish(key: string, channel: string, maxLen: number, json: string): ChainableCommander;
};

export function defineScripts(client: Redis): MdRedis {
  client.defineCommand('mdClaim', { lua: CLAIM });
  client.defineCommand('mdRelease', { lua: RELEASE });
  client.defineCommand('mdPublish', { lua: PUBLISH, numberOfKeys: 1 });
  return client as MdRedis;
}
