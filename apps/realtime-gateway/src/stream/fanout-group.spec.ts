import { MessageType } from '@md/contracts';
import type { Held, StreamClient } from './client';
import { RateGroup } from './fanout-group';
import { StreamFilter } from './filter';
import type { Published } from './published';

let n = 0;
const view = (symbol: string): Published => {
  const seq = `2000-${++n}`;
  return { seq, type: MessageType.SymbolUpdated, symbol, raw: `{"seq":"${seq}","type":"symbol.updated","symbol":"${symbol}"}` };
};
const views = new StreamFilter(null, new Set([MessageType.SymbolUpdated]));
/** A client as admit() sees it: only its conflation state. */
const candidate = (held: Map<string, Held>, lastViewAt: Map<string, number>, writtenId = '') =>
  ({ conflation: () => ({ held, lastViewAt }), writtenId }) as unknown as StreamClient;
const group = (seed: Partial<{ held: Map<string, Held>; lastViewAt: Map<string, number> }> = {}) =>
  new RateGroup('k', views, 10, {
    seq: '2000-0',
    lastId: '2000-0',
    held: seed.held ?? new Map(),
    lastViewAt: seed.lastViewAt ?? new Map(),
  });
const frames = (bytes: Buffer) => bytes.toString().split('\n\n').filter(Boolean);

describe('RateGroup', () => {
  it('writes a view at once, holds the next within 1/maxHz s, replaces it with newer ones and releases the newest when due', () => {
    const g = group();
    const a1 = view('A');
    expect(g.push(a1, 1_000)).toBe(true);
    const a2 = view('A');
    const a3 = view('A');
    g.push(a2, 1_010);
    g.push(a3, 1_020);
    const b = view('B'); // written, its resume point from before the held view of A
    g.push(b, 1_025);
    const first = frames(g.take(1_030).bytes);
    expect(first).toHaveLength(2);
    // Its resume point is a1's seq, the id already written with a1: no id, so none is written twice.
    expect(first[0]).toContain(`id: ${a1.seq}\n`);
    expect(first[1]).not.toContain('id: ');
    expect(g.holding).toBe(true);
    expect(g.take(1_099).bytes.length).toBe(0);
    const due = frames(g.take(1_100).bytes);
    expect(due).toHaveLength(1);
    // The newest, with how many it replaced; nothing held any more, so the resume point is the group's position.
    expect(due[0]).toContain(`"seq":"${a3.seq}"`);
    expect(due[0]).toContain('{"skipped":1,');
    expect(due[0]).toContain(`id: ${b.seq}\n`);
    expect(g.holding).toBe(false);
  });

  it('admits a client holding exactly what the group holds, and none that would get a view twice or miss one', () => {
    const a1 = view('A');
    const a2 = view('A');
    const g = group({ lastViewAt: new Map([['A', 1_000]]) });
    g.push(a2, 1_050); // held
    expect(g.admit(candidate(new Map(), new Map([['A', 1_050]])))).toBe(false); // it wrote a2 already: the group would write it twice
    expect(g.admit(candidate(new Map([['A', { message: a1, skipped: 0, before: '2000-0' }]]), new Map()))).toBe(false); // another view held
    expect(g.admit(candidate(new Map([['A', { message: a2, skipped: 0, before: '2000-0' }]]), new Map([['A', 1_020]])))).toBe(true);
    // It wrote A 20 ms after the group did: the group's next A waits for the client's interval too.
    expect(g.take(1_100).bytes.length).toBe(0);
    expect(frames(g.take(1_120).bytes)[0]).toContain(`"seq":"${a2.seq}"`);
  });

  it('admits no client holding the same view since another one: its skipped and ids would be wrong', () => {
    const a1 = view('A');
    const a2 = view('A');
    const g = group({ lastViewAt: new Map([['A', 1_000]]) });
    g.push(a1, 1_050); // held since a1, resume point 2000-0
    g.push(a2, 1_060); // replaces it: skipped 1
    // It wrote a1 itself, then held a2: the group's skipped would count a1 again, and its id (2000-0) go back past a1's.
    const wroteA1 = candidate(new Map([['A', { message: a2, skipped: 0, before: a1.seq }]]), new Map([['A', 1_055]]), a1.seq);
    expect(g.admit(wroteA1)).toBe(false);
    // It held a1 (replaced by a2) since an earlier point, with more replaced: the group's count would lose them.
    const heldLonger = candidate(new Map([['A', { message: a2, skipped: 4, before: '1999-9' }]]), new Map([['A', 900]]));
    expect(g.admit(heldLonger)).toBe(false);
    expect(g.admit(candidate(new Map([['A', { message: a2, skipped: 1, before: '2000-0' }]]), new Map([['A', 990]]), '2000-0'))).toBe(true);
    const due = frames(g.take(1_100).bytes);
    expect(due[0]).toContain('{"skipped":1,');
  });

  it("admits no client that wrote an id past the group's last one: the group would write an id it already had", () => {
    const g = group();
    const b = view('B');
    expect(g.admit(candidate(new Map(), new Map(), b.seq))).toBe(false);
    g.push(b, 1_000);
    g.take(1_000);
    expect(g.admit(candidate(new Map(), new Map(), b.seq))).toBe(true);
  });
});
