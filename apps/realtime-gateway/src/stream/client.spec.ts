import { MessageType } from '@md/contracts';
import { FakeSocketSink } from '../testing/fake-sink';
import { chunkSnapshot, type ClientHost, StreamClient } from './client';
import { StreamFilter } from './filter';
import type { Published } from './published';

class FakeSink extends FakeSocketSink {
  readonly transport = 'sse' as const;
  readonly shareable = false;
  frames: { id: string; message?: Published; skipped: number; event?: string }[] = [];
  closed = false;
  encode(message: Published, id: string, skipped: number): string {
    this.frames.push({ id, message, skipped });
    return 'x';
  }
  encodeEvent(event: string, _data: object, id?: string): string {
    this.frames.push({ id: id ?? '', event, skipped: 0 });
    return 'x';
  }
  written = 0;
  write(_frames: readonly string[]): void {
    this.written += 1;
  }
  writeBytes(): void {
    this.written += 1;
  }
  close(): void {
    this.closed = true;
  }
}

/** The hub's part: counts, and a write tick 1 ms after a client asks for one (fake timers). */
const stats = (): ClientHost & { conflatedCount: number; droppedCount: number; woken: Set<StreamClient> } => {
  const s = {
    conflatedCount: 0,
    droppedCount: 0,
    woken: new Set<StreamClient>(),
    timer: undefined as NodeJS.Timeout | undefined,
    sent: () => undefined,
    conflated: () => void (s.conflatedCount += 1),
    dropped: () => void (s.droppedCount += 1),
    wake(client: StreamClient) {
      s.woken.add(client);
      s.timer ??= setTimeout(() => {
        s.timer = undefined;
        const woken = [...s.woken];
        s.woken.clear();
        for (const c of woken) c.flush();
      }, 1);
    },
  };
  return s;
};
const noPacing = async () => undefined;
const limits = { congestedBytes: 100, maxBytes: 1_000, chunkBytes: 4_096, burstBytes: 1_000 };

let seq = 0;
const view = (symbol: string): Published => ({ seq: `1000-${++seq}`, type: MessageType.SymbolUpdated, symbol, raw: '{}' });
const tick = (symbol: string): Published => ({ seq: `1000-${++seq}`, type: MessageType.TickReceived, symbol, raw: '{}' });
const all = new StreamFilter(null, new Set([MessageType.SymbolUpdated, MessageType.TickReceived]));

describe('StreamClient', () => {
  let now = 0;
  beforeEach(() => {
    jest.useFakeTimers();
    now = 0;
  });
  afterEach(() => jest.useRealTimers());

  const client = (sink: FakeSink, maxHz?: number, s = stats()) => {
    const c = new StreamClient(
      sink,
      all,
      maxHz,
      limits,
      s,
      () => undefined,
      () => now,
    );
    void c.snapshot({ seq: '1000-0', views: [] }, noPacing);
    c.goLive();
    sink.frames = [];
    return c;
  };
  const advance = (ms: number) => {
    now += ms;
    jest.advanceTimersByTime(ms);
  };
  /** Offers the messages to `c` in order, and returns them. */
  const offerAll = (c: StreamClient, ...messages: Published[]) => {
    for (const message of messages) c.offer(message);
    return messages;
  };

  it('writes each message once, in seq order, with its seq as id', () => {
    const sink = new FakeSink();
    const c = client(sink);
    const a = view('A');
    const b = tick('A');
    c.offer(a);
    c.offer(a);
    c.offer(b);
    c.replay(a);
    expect(sink.frames.map((f) => [f.message?.seq, f.id])).toEqual([
      [a.seq, a.seq],
      [b.seq, b.seq],
    ]);
  });

  it('keeps messages that arrive while starting, and writes only those after the snapshot', () => {
    const sink = new FakeSink();
    const c = new StreamClient(sink, all, undefined, limits, stats(), () => undefined);
    const before = view('A');
    const after = view('A');
    c.offer(before);
    c.offer(after);
    void c.snapshot({ seq: before.seq, views: [] }, noPacing);
    c.goLive();
    expect(sink.frames.map((f) => f.event ?? f.message?.seq)).toEqual(['snapshot', after.seq]);
  });

  it('with maxHz, holds the newest view per symbol and writes it with the count it replaced', () => {
    const sink = new FakeSink();
    const s = stats();
    const c = client(sink, 2, s);
    const views = [view('A'), view('A'), view('A'), view('A')];
    for (const v of views) c.offer(v);
    expect(sink.frames.map((f) => f.message?.seq)).toEqual([views[0].seq]);
    advance(499);
    expect(sink.frames).toHaveLength(1);
    advance(1);
    expect(sink.frames.map((f) => [f.message?.seq, f.skipped])).toEqual([
      [views[0].seq, 0],
      [views[3].seq, 2],
    ]);
    expect(s.conflatedCount).toBe(2);
  });

  it('while views are held, writes as id the seq before the oldest held one (no id when that one was written already)', () => {
    const sink = new FakeSink();
    const c = client(sink, 1);
    const [first, held, t] = offerAll(c, view('A'), view('A'), tick('B'));
    expect(first.seq).toBe(`1000-${Number(held.seq.split('-')[1]) - 1}`);
    // Its resume point is the seq before the held view: `first`'s, whose frame carried that id already.
    expect(sink.frames[0]).toMatchObject({ message: first, id: first.seq });
    expect(sink.frames[1]).toMatchObject({ message: t, id: '' });
    advance(1_000);
    expect(sink.frames[2]).toMatchObject({ message: held, id: t.seq });
  });

  it('while views are held, writes as id the last seq it processed before the oldest held one (an id history holds)', () => {
    const sink = new FakeSink();
    const c = client(sink, 1);
    const first: Published = { seq: '2000-5', type: MessageType.SymbolUpdated, symbol: 'A', raw: '{}' };
    const held: Published = { seq: '2001-0', type: MessageType.SymbolUpdated, symbol: 'A', raw: '{}' };
    const later: Published = { seq: '2001-3', type: MessageType.TickReceived, symbol: 'B', raw: '{}' };
    offerAll(c, first, held, later);
    // That id is `first`'s, already written with it: the frame has none (the last id stays the resume point).
    expect(sink.frames[0]).toMatchObject({ message: first, id: first.seq });
    expect(sink.frames[1]).toMatchObject({ message: later, id: '' });
  });

  it('drops a client whose live messages waiting for its start pass the output cap', () => {
    const sink = new FakeSink();
    const s = stats();
    const c = new StreamClient(sink, all, undefined, limits, s, () => undefined);
    const big = (): Published => ({ ...tick('A'), raw: `{"pad":"${'p'.repeat(300)}"}` });
    for (let i = 0; i < 3; i += 1) c.offer(big());
    expect(c.isClosed).toBe(false);
    c.offer(big()); // past limits.maxBytes (1,000) waiting
    expect(c.isClosed).toBe(true);
    expect(sink.closed).toBe(true);
    expect(s.droppedCount).toBe(1);
  });

  it('conflates views while the socket is congested, writes the held ones on drain, and never holds ticks', () => {
    const sink = new FakeSink();
    const c = client(sink);
    sink.buffered = 500;
    const [, v2, t] = offerAll(c, view('A'), view('A'), tick('A'));
    expect(sink.frames.map((f) => f.message)).toEqual([t]);
    sink.drained();
    advance(1);
    expect(sink.frames.map((f) => [f.message, f.skipped])).toEqual([
      [t, 0],
      [v2, 1],
    ]);
  });

  it('drops itself (and only itself) once its buffer passes the cap', () => {
    const sink = new FakeSink();
    const s = stats();
    const c = client(sink, undefined, s);
    sink.buffered = 1_001;
    c.offer(tick('A'));
    advance(1);
    expect(c.isClosed).toBe(true);
    expect(sink.closed).toBe(true);
    expect(s.droppedCount).toBe(1);
  });

  it('clears its held views on close, and writes nothing after', () => {
    const sink = new FakeSink();
    const c = client(sink, 1);
    c.offer(view('A'));
    c.offer(view('A'));
    expect(c.holding).toBe(true);
    c.close();
    expect(c.holding).toBe(false);
    const written = sink.written;
    advance(2_000);
    expect(sink.written).toBe(written);
  });

  it('gathers the messages of a tick and writes them with one call', () => {
    const sink = new FakeSink();
    const c = client(sink);
    const before = sink.written;
    for (let i = 0; i < 10; i += 1) c.offer(tick('A'));
    expect(sink.written).toBe(before);
    advance(1);
    expect(sink.written).toBe(before + 1);
    expect(sink.frames.filter((f) => f.message)).toHaveLength(10);
  });

  it('does not share the cached snapshot frames of a ticks-only client with a client that wants views', async () => {
    /** Records what is written, with the snapshot's data. */
    class DataSink extends FakeSink {
      out: string[] = [];
      override encodeEvent(_event: string, data: object): string {
        return JSON.stringify(data);
      }
      override write(frames: readonly string[]): void {
        this.out.push(...frames);
      }
    }
    const shared = { seq: '1000-3', views: [{ symbol: 'A' }, { symbol: 'B' }] as never[] };
    const ticksOnly = new DataSink();
    const grid = new DataSink();
    await new StreamClient(
      ticksOnly,
      new StreamFilter(null, new Set([MessageType.TickReceived])),
      undefined,
      limits,
      stats(),
      () => undefined,
    ).snapshot(shared, noPacing);
    await new StreamClient(grid, all, undefined, limits, stats(), () => undefined).snapshot(shared, noPacing);
    expect(ticksOnly.out.map((f) => JSON.parse(f).views)).toEqual([[]]);
    expect(grid.out.map((f) => JSON.parse(f).views)).toEqual([shared.views]);
  });

  it('writes a large snapshot in chunks, paced by the socket, with the resume point on the last chunk only', async () => {
    const sink = new FakeSink();
    const c = new StreamClient(
      sink,
      all,
      undefined,
      { congestedBytes: 100, maxBytes: 1_000_000, chunkBytes: 4_096, burstBytes: 1_000 },
      stats(),
      () => undefined,
    );
    const views = Array.from({ length: 100 }, (_, i) => ({ symbol: `S${i}`, source: 'x'.repeat(200) }) as never);
    let paced = 0;
    sink.buffered = 500;
    await c.snapshot({ seq: '1000-7', views }, async () => {
      paced += 1;
    });
    const chunks = sink.frames.filter((f) => f.event === 'snapshot');
    expect(chunks.length).toBeGreaterThan(1);
    expect(paced).toBe(chunks.length - 1);
    expect(chunks.map((f) => f.id)).toEqual([...Array(chunks.length - 1).fill(''), '1000-7']);
  });
});

describe('chunkSnapshot', () => {
  const sink = { encodeEvent: (_e: string, data: object, id?: string) => JSON.stringify({ id, data }) };
  const views = Array.from({ length: 50 }, (_, i) => ({ symbol: `S${i}`, pad: 'p'.repeat(100) }) as never);

  it('splits the views into chunks of about chunkBytes, all but the last with more: true, none lost or repeated', () => {
    const frames = chunkSnapshot(sink, '5-0', views, 1_000).map((f) => JSON.parse(f));
    expect(frames.length).toBeGreaterThan(5);
    for (const frame of frames.slice(0, -1)) {
      expect(frame.data.more).toBe(true);
      expect(frame.id).toBeUndefined();
      expect(JSON.stringify(frame.data.views).length).toBeLessThan(1_200);
    }
    expect(frames.at(-1)).toMatchObject({ id: '5-0', data: { type: 'snapshot', seq: '5-0' } });
    expect(frames.at(-1).data.more).toBeUndefined();
    expect(frames.flatMap((f) => f.data.views)).toEqual(views);
  });

  it('sends a small snapshot as the one frame it always was', () => {
    expect(chunkSnapshot(sink, '5-0', views.slice(0, 2), 65_536).map((f) => JSON.parse(f))).toEqual([
      { id: '5-0', data: { type: 'snapshot', seq: '5-0', views: views.slice(0, 2) } },
    ]);
  });
});
