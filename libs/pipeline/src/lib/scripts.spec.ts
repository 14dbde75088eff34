import { DedupeState } from './dedupe';
import { CHUNK_MAX_TICKS } from './jobs';
import { expandLua, LUA_SCRIPTS, luaScripts } from './scripts';

describe('the Lua script registry', () => {
  it('splices every include in, and the dedupe states from DedupeState', () => {
    const scripts = luaScripts();
    for (const [command, { lua }] of Object.entries(scripts)) {
      expect({ command, include: /@include/.test(lua) }).toEqual({ command, include: false });
      expect(lua.length).toBeGreaterThan(50);
    }
    const states = `local DEDUPE_PENDING, DEDUPE_ACCEPTED, DEDUPE_COUNTED = '${DedupeState.Pending}', '${DedupeState.Accepted}', '${DedupeState.Counted}'`;
    for (const command of ['mdClaim', 'mdCommit', 'mdRelease', 'mdCalcA'] as const) expect(scripts[command].lua).toContain(states);
    for (const command of ['mdStoreViews', 'mdCommit'] as const) expect(scripts[command].lua).toContain('local function publish(');
    // The buffer's depth reads CHUNK_MAX_TICKS as the most ticks an entry holds.
    for (const command of ['mdClaim', 'mdBufferDepth'] as const) {
      expect(scripts[command].lua).toContain(`local BUFFER_ENTRY_MAX_TICKS = ${CHUNK_MAX_TICKS}\n`);
      expect(scripts[command].lua).toContain('local function bufferedTicks(');
    }
  });

  it('reads the dedupe states only through their names: no script spells a state literally', () => {
    for (const { file, source } of Object.values(LUA_SCRIPTS)) {
      const code = source.replace(/--\[\[[\s\S]*?\]\]/g, '').replace(/--.*$/gm, '');
      expect({ file, literals: code.match(/(['"])[p12]\1/g) }).toEqual({ file, literals: null });
    }
  });

  it('refuses an include it does not know', () => {
    expect(() => expandLua('x', '--- @include "nope"\nreturn 0')).toThrow('x.lua includes "nope"');
  });
});
