// The apps' programs include only their own sources: this brings the `*.lua` module type wherever the registry compiles.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./lua.d.ts" />
import type { ChainableCommander, Redis } from 'ioredis';
import { DedupeState } from './dedupe';
import { CHUNK_MAX_TICKS } from './jobs';
import bufferDepth from './lua/buffer-depth.lua';
import bufferRemove from './lua/buffer-remove.lua';
import calcA from './lua/calc-a.lua';
import claim from './lua/claim.lua';
import commit from './lua/commit.lua';
import bufferFn from './lua/includes/buffer.lua';
import publishFn from './lua/includes/publish.lua';
import summaryFn from './lua/includes/summary.lua';
import windowFn from './lua/includes/window.lua';
import publish from './lua/publish.lua';
import release from './lua/release.lua';
import storeViews from './lua/store-views.lua';
import summary from './lua/summary.lua';
import undoEnqueue from './lua/undo-enqueue.lua';

/**
 * The one registry of the system's Lua scripts: each lives in lua/<name>.lua (why it exists and
 * its KEYS/ARGV are documented there) and is defined here, once, on every command connection
 * (RedisModule's, and any test's), as BullMQ does with its src/commands/*.lua. Each script runs
 * atomically in Redis, so api replicas and consumers can race on the same keys without a lock.
 *
 * A line `--- @include "<name>"` in a script is replaced by the include of that name: a file of
 * lua/includes/, or `dedupe-states`, generated from DedupeState so the Lua reads the same values
 * as the TypeScript. `includes/buffer` is prefixed with BUFFER_ENTRY_MAX_TICKS, CHUNK_MAX_TICKS:
 * the most ticks one buffer entry holds (one per chunk, see lua/commit.lua).
 */

const LUA_INCLUDES: Record<string, string> = {
  'dedupe-states': [
    '-- Generated from DedupeState (libs/pipeline/src/lib/dedupe.ts).',
    `local DEDUPE_PENDING, DEDUPE_ACCEPTED, DEDUPE_COUNTED = ${[DedupeState.Pending, DedupeState.Accepted, DedupeState.Counted]
      .map((state) => `'${state}'`)
      .join(', ')}`,
  ].join('\n'),
  'includes/buffer': [`local BUFFER_ENTRY_MAX_TICKS = ${CHUNK_MAX_TICKS}`, bufferFn].join('\n'),
  'includes/publish': publishFn,
  'includes/window': windowFn,
  'includes/summary': summaryFn,
};

const INCLUDE_LINE = /^--- @include "([^"]+)"$/gm;

/** The script's text with its includes spliced in (an include names no further include). */
export function expandLua(name: string, source: string): string {
  return source.replace(INCLUDE_LINE, (_, include: string) => {
    const text = LUA_INCLUDES[include];
    if (text === undefined) throw new Error(`${name}.lua includes "${include}", which the registry does not know`);
    return text;
  });
}

/**
 * Every script, by command name: its source and how many of its arguments are keys (undefined:
 * the caller passes that count first, for scripts taking one key per tick).
 */
export const LUA_SCRIPTS = {
  mdClaim: { file: 'claim', source: claim, numberOfKeys: undefined },
  mdCommit: { file: 'commit', source: commit, numberOfKeys: undefined },
  mdRelease: { file: 'release', source: release, numberOfKeys: undefined },
  mdUndoEnqueue: { file: 'undo-enqueue', source: undoEnqueue, numberOfKeys: undefined },
  mdBufferRemove: { file: 'buffer-remove', source: bufferRemove, numberOfKeys: 2 },
  mdBufferDepth: { file: 'buffer-depth', source: bufferDepth, numberOfKeys: 2 },
  mdPublish: { file: 'publish', source: publish, numberOfKeys: 1 },
  mdStoreViews: { file: 'store-views', source: storeViews, numberOfKeys: undefined },
  mdCalcA: { file: 'calc-a', source: calcA, numberOfKeys: undefined },
  mdSummary: { file: 'summary', source: summary, numberOfKeys: 4 },
} as const satisfies Record<string, { file: string; source: string; numberOfKeys: number | undefined }>;

export type ScriptName = keyof typeof LUA_SCRIPTS;

/** The text each script is defined with (includes spliced in), by command name. */
export function luaScripts(): Record<ScriptName, { lua: string; numberOfKeys: number | undefined }> {
  return Object.fromEntries(
    Object.entries(LUA_SCRIPTS).map(([command, { file, source, numberOfKeys }]) => [
      command,
      { lua: expandLua(file, source), numberOfKeys },
    ]),
  ) as Record<ScriptName, { lua: string; numberOfKeys: number | undefined }>;
}

export interface MdScripts {
  /** See lua/claim.lua: numKeys = 3 + ticks; one ClaimResult per tick. */
  mdClaim(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  /** See lua/commit.lua: numKeys = 3 + ticks; per chunk its buffer entry id or 0, then the first error's text if any. */
  mdCommit(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
  mdRelease(numKeys: number, ...args: string[]): Promise<number>;
  /** See lua/undo-enqueue.lua: numKeys = 1 + ticks. */
  mdUndoEnqueue(numKeys: number, ...args: (string | number)[]): Promise<number>;
  /** See lua/buffer-remove.lua: the group ('' for none), then per entry its id and its ticks; resolves to the entries deleted. */
  mdBufferRemove(stream: string, counts: string, group: string, ...idsAndTicks: (string | number)[]): Promise<number>;
  /** See lua/buffer-depth.lua: [ticks, entries]. */
  mdBufferDepth(stream: string, counts: string): Promise<[number, number]>;
  mdPublish(key: string, channel: string, maxLen: number, json: string): Promise<string>;
  /** See lua/store-views.lua: numKeys = 3 + views; per view 1 stored, 0 not newer, -1 ahead of the count (then nothing stored). */
  mdStoreViews(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  /** See lua/calc-a.lua: numKeys = 4 + ticks (decoded by the consumers' parseCalcAReply). */
  mdCalcA(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
  /** See lua/summary.lua (decoded by the consumers' parseSummary). */
  mdSummary(state: string, last: string, window: string, prices: string): Promise<(string | number)[]>;
}

export type MdRedis = Redis & MdScripts;
export type MdPipeline = ChainableCommander & {
  mdCommit(numKeys: number, ...args: (string | number)[]): ChainableCommander;
  mdBufferDepth(stream: string, counts: string): ChainableCommander;
};

/** Defines every script of LUA_SCRIPTS on `client` (ioredis runs them by EVALSHA, loading on NOSCRIPT). */
export function defineScripts(client: Redis): MdRedis {
  for (const [command, { lua, numberOfKeys }] of Object.entries(luaScripts())) {
    client.defineCommand(command, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
  }
  return client as MdRedis;
}
