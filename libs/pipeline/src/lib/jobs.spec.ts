import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { QueueKeys } from 'bullmq';
import { JOB_ID_MARK, jobIdFor, positionsBySymbol } from './jobs';

/** What BullMQ refuses as a custom job id (see Job.validateOptions). */
const refusedByBullmq = (id: string) => String(parseInt(id, 10)) === id || id.includes(':');

/**
 * Every key name the installed BullMQ builds under a queue's prefix: its QueueKeys, and each
 * literal suffix its Lua commands append to the prefix or to a key (`'wait'`, `"de:"`, …).
 */
function bullmqKeyNames(): string[] {
  const commands = join(dirname(require.resolve('bullmq')), 'commands');
  const fromLua = (readdirSync(commands, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.lua'))
    .flatMap((file) => [...readFileSync(join(commands, file), 'utf8').matchAll(/\.\.\s*["']([^"'\s]+)["']/g)].map((m) => m[1]));
  return [...Object.keys(new QueueKeys().getKeys('q')), ...fromLua];
}

describe('jobIdFor', () => {
  const eventId = fc.stringMatching(/^[\x21-\x7E]{1,40}$/);

  it('is the event_id behind a fixed mark, with % and : escaped', () => {
    expect(jobIdFor('0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10')).toBe('@0193c9a2-7b1e-7cc3-9f1e-2b7d1c9e4a10');
    expect(jobIdFor('12345')).toBe('@12345');
    expect(jobIdFor('a:b')).toBe('@a%3Ab');
    expect(jobIdFor('wait')).toBe('@wait');
  });

  it('never names a key of the installed BullMQ: none of its key names starts with the mark', () => {
    const names = bullmqKeyNames();
    expect(names).toEqual(expect.arrayContaining(['wait', 'meta', 'events', 'id', 'stalled-check', 'de:', 'marker']));
    for (const name of names) expect({ name, marked: name.replace(/^:/, '').startsWith(JOB_ID_MARK) }).toEqual({ name, marked: false });
  });

  it("gives a job a key apart from every key BullMQ owns, and from every job's sub-keys", () => {
    const keys = new QueueKeys('bull');
    const queueKey = (name: string) => keys.toKey('q', name);
    const base = queueKey('');
    const names = bullmqKeyNames();
    const apart = (eventId: string) => {
      const jobKey = queueKey(jobIdFor(eventId));
      // Names ending in ':' are prefixes (`de:<id>`, …): no job key may start with one.
      const clash = names.find((n) => (n.endsWith(':') ? jobKey.startsWith(queueKey(n)) : jobKey === queueKey(n)));
      // A job's own sub-keys are `<job key>:lock`, `:logs`, …: a job key holds no ':' past the base.
      return clash === undefined && !jobKey.slice(base.length).includes(':');
    };
    for (const name of [...names, ...names.map((n) => `${n}:lock`), 'x:lock', 'x:logs'])
      expect({ name, apart: apart(name) }).toEqual({ name, apart: true });
    fc.assert(fc.property(eventId, apart), { numRuns: 2000 });
  });

  it('never yields an id BullMQ refuses, and every id carries the mark', () => {
    fc.assert(fc.property(eventId, (id) => !refusedByBullmq(jobIdFor(id)) && jobIdFor(id).startsWith(JOB_ID_MARK)));
  });

  it('is one-to-one: different event_ids never share a job', () => {
    fc.assert(
      fc.property(eventId, eventId, (a, b) => a === b || jobIdFor(a) !== jobIdFor(b)),
      { numRuns: 2000 },
    );
    // The cases most likely to collide, by construction:
    const tricky = ['1', '~1', '%', '~%25', ':', '~%3A', '%3A', '%253A', '~~', '~', '@', '@@', '@%40', 'a:b', 'a%3Ab', '@a%3Ab'];
    expect(new Set(tricky.map(jobIdFor)).size).toBe(tricky.length);
  });
});

describe('positionsBySymbol', () => {
  it('groups positions by symbol, symbols in order of first appearance, each in arrival order', () => {
    const ticks = ['B', 'A', 'B', 'C', 'A', 'B'].map((symbol) => ({ symbol }));
    expect([...positionsBySymbol(ticks)]).toEqual([
      ['B', [0, 2, 5]],
      ['A', [1, 4]],
      ['C', [3]],
    ]);
  });
});
