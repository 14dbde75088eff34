import { Counter, Gauge, Histogram } from 'prom-client';
import type { GatewayEnv } from '@md/config';
import { compareSeq, MessageType } from '@md/contracts';
import { FakeSocketSink } from '../testing/fake-sink';
import type { Snapshot } from './client';
import { StreamFilter } from './filter';
import type { StreamHistory } from './history';
import { StreamHub } from './hub';
import { parsePublished, type Published } from './published';

/**
 * The hub's write path without Redis: history is an in-memory list (a unit test of the hub's
 * ordering; the integration specs run it against the real Redis), pub/sub is `publish`.
 */

/** An SSE-like sink that records the ids and events it was given, shared bytes included. */
class RecordingSink extends FakeSocketSink {
  readonly transport = 'sse' as const;
  readonly shareable: boolean = true;
  text = '';
  encode(message: Published, id: string, skipped: number): string {
    return `${id ? `id: ${id}\n` : ''}event: ${message.type}\ndata: ${skipped ? `{"skipped":${skipped},${message.raw.slice(1)}` : message.raw}\n\n`;
  }
  encodeEvent(event: string, data: object, id?: string): string {
    return `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }
  write(frames: readonly string[]): void {
    this.text += frames.join('');
  }
  writeBytes(bytes: Buffer): void {
    this.text += bytes.toString();
  }
  close(): void {
    /* nothing to release */
  }
  /** The frames written, in order. */
  get events(): {
    id?: string;
    event: string;
    data: { seq?: string; symbol?: string; skipped?: number; views?: unknown[]; more?: boolean };
  }[] {
    return this.text
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => {
        const fields = Object.fromEntries(
          frame.split('\n').map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
        );
        return { id: fields['id'], event: fields['event'], data: JSON.parse(fields['data']) };
      });
  }
  /** The seqs of the live messages written, in order. */
  get seqs(): string[] {
    return this.events
      .filter((e) => e.event === MessageType.SymbolUpdated || e.event === MessageType.TickReceived)
      .map((e) => e.data.seq as string);
  }
}

class MemoryHistory {
  entries: Published[] = [];
  views = new Map<string, unknown>();
  /** Resolves a pending snapshot read when set (to order it against other work). */
  gate?: Promise<void>;
  async snapshot(): Promise<Snapshot> {
    if (this.gate) await this.gate;
    return { seq: this.entries.at(-1)?.seq ?? '0-0', views: [...this.views.values()] as never[] };
  }
  async after(seq: string): Promise<AsyncGenerator<Published[]> | undefined> {
    if (!this.entries.some((e) => e.seq === seq)) return undefined;
    const page = this.entries.filter((e) => compareSeq(e.seq, seq) > 0);
    return (async function* () {
      yield page;
    })();
  }
}

const env = {
  MAX_CLIENTS: 100,
  CLIENT_BUFFER_MAX_BYTES: 1_000_000,
  SNAPSHOT_CHUNK_BYTES: 65_536,
  STREAM_FLUSH_MS: 0,
  HEARTBEAT_MS: 60_000,
} as GatewayEnv;
const views = new StreamFilter(null, new Set([MessageType.SymbolUpdated]));

function setUp(overrides: Partial<GatewayEnv> = {}) {
  const history = new MemoryHistory();
  const counter = (labelNames: string[]) => new Counter({ name: 'c', help: 'c', labelNames, registers: [] });
  const gauge = (labelNames: string[]) => new Gauge({ name: 'g', help: 'g', labelNames, registers: [] });
  const metrics = { conflated: counter(['transport']), dropped: counter(['transport', 'reason']) };
  const hub = new StreamHub(
    { ...env, ...overrides } as GatewayEnv,
    history as unknown as StreamHistory,
    gauge(['transport']),
    counter(['transport', 'type']),
    counter(['transport']),
    metrics.conflated,
    metrics.dropped,
    counter(['cause']),
    counter(['outcome']),
    gauge([]),
    new Histogram({ name: 'h', help: 'h', labelNames: ['transport'], registers: [] }),
    counter(['transport', 'reason']),
  );
  // The hub as after its first subscription (onModuleInit/catchUp need Redis), at `seq`.
  const internals = hub as unknown as { seq?: string; state: string; onMessage(text: string): void };
  const live = (seq: string) => {
    internals.seq = seq;
    internals.state = 'live';
  };
  let n = 0;
  /** A view published: appended to history; pub/sub delivery is `deliver`. */
  const append = (symbol = 'A', type: string = MessageType.SymbolUpdated) => {
    // Ids with gaps, as Redis makes them across milliseconds: the seq before one is not an entry.
    const seq = `1000-${++n * 10}`;
    const raw = JSON.stringify({ seq, type, symbol, view: { symbol, n } });
    const message = parsePublished(raw) as Published;
    history.entries.push(message);
    if (type === MessageType.SymbolUpdated) history.views.set(symbol, { symbol, n });
    return { message, raw };
  };
  const deliver = (raw: string) => internals.onMessage(raw);
  const publish = (symbol = 'A', type?: string) => {
    const m = append(symbol, type);
    deliver(m.raw);
    return m.message;
  };
  return { hub, history, live, append, deliver, publish, internals, metrics };
}

/** Lets setImmediate ticks and promise chains run. */
const settle = async (rounds = 5) => {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

/** Lets the write ticks run (a tick with work left schedules the next on a short timer). */
const ticks = async () => {
  await settle();
  await new Promise((resolve) => setTimeout(resolve, 30));
  await settle();
};

/** The id an EventSource would resume from: the last one written (a frame without one keeps it). */
const lastEventId = (sink: RecordingSink) =>
  sink.events
    .map((e) => e.id)
    .filter((id): id is string => !!id)
    .at(-1) as string;

/** SSE ids as EventSource takes them: each frame's id, if any, past every one before it. */
const idsIncrease = (sink: RecordingSink) => {
  const ids = sink.events.map((e) => e.id).filter((id): id is string => !!id);
  for (let i = 1; i < ids.length; i += 1)
    expect([i, ids[i - 1], ids[i], compareSeq(ids[i], ids[i - 1]) > 0]).toEqual([i, ids[i - 1], ids[i], true]);
};

const noDuplicates = (seqs: string[]) => {
  expect(new Set(seqs).size).toBe(seqs.length);
  for (let i = 1; i < seqs.length; i += 1) expect(compareSeq(seqs[i], seqs[i - 1])).toBeGreaterThan(0);
};

/**
 * A seeded run of in-step, congested and maxHz SSE clients of one filter (FanoutGroup and RateGroup
 * members joining and leaving): each one gets every tick, no message twice, each view written or
 * counted in the `skipped` of the next one of its symbol, the newest last, at most maxHz views per
 * symbol a second, and SSE ids that only increase.
 */
async function randomRun(seed: number): Promise<void> {
  let state = seed;
  const random = () => (state = (state * 1_664_525 + 1_013_904_223) % 4_294_967_296) / 4_294_967_296;
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  jest.useFakeTimers({ now: 1_000_000 });
  try {
    const { hub, live, publish } = setUp();
    live(publish('A').seq);
    const filter = new StreamFilter(null, new Set([MessageType.SymbolUpdated, MessageType.TickReceived]));
    const rates = [10, 10, 10, undefined, undefined, 4];
    const sinks = rates.map(() => new RecordingSink());
    const writes = sinks.map(() => [] as { at: number; symbol: string }[]);
    sinks.forEach((sink, i) => {
      const write = sink.write.bind(sink);
      const record = (text: string) => {
        for (const frame of text.split('\n\n'))
          if (frame.includes(`event: ${MessageType.SymbolUpdated}`))
            writes[i].push({ at: Date.now(), symbol: (JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { symbol: string }).symbol });
      };
      sink.write = (frames) => (record(frames.join('')), write(frames));
      const writeBytes = sink.writeBytes.bind(sink);
      sink.writeBytes = (bytes) => (record(bytes.toString()), writeBytes(bytes));
    });
    const clients = rates.map((maxHz, i) => hub.attach(sinks[i], { filter, maxHz } as never));
    for (const client of clients) {
      const started = hub.start(client, undefined);
      await jest.advanceTimersByTimeAsync(1);
      await started;
    }
    const published: Published[] = [];
    for (let step = 0; step < 2_000; step += 1) {
      const x = random();
      if (x < 0.35) published.push(publish(pick(['A', 'B', 'C'])));
      else if (x < 0.5) published.push(publish(pick(['A', 'B', 'C']), MessageType.TickReceived));
      else if (x < 0.8) await jest.advanceTimersByTimeAsync(Math.floor(random() * 40));
      else if (x < 0.9) pick(sinks).buffered = 300_000;
      else pick(sinks).drained();
      // The write tick runs as soon as the event loop is free (STREAM_FLUSH_MS=0).
      await jest.advanceTimersByTimeAsync(0);
    }
    for (const sink of sinks) sink.drained();
    for (let i = 0; i < 30; i += 1) await jest.advanceTimersByTimeAsync(100);
    sinks.forEach((sink, i) => {
      const where = `seed ${seed}, client ${i}`;
      expect([where, clients[i].isClosed]).toEqual([where, false]);
      idsIncrease(sink);
      const events = sink.events.filter((e) => e.event !== 'snapshot');
      const ticksOf = (seqs: (string | undefined)[]) => [where, seqs];
      expect(ticksOf(events.filter((e) => e.event === MessageType.TickReceived).map((e) => e.data.seq))).toEqual(
        ticksOf(published.filter((m) => m.type === MessageType.TickReceived).map((m) => m.seq)),
      );
      // No message twice (a held view goes out after later ticks: seqs are not in order).
      const seqs = events.map((e) => e.data.seq);
      expect([where, seqs.length - new Set(seqs).size]).toEqual([where, 0]);
      for (const symbol of ['A', 'B', 'C']) {
        const sent = published.filter((m) => m.type === MessageType.SymbolUpdated && m.symbol === symbol);
        const seen = events.filter((e) => e.event === MessageType.SymbolUpdated && e.data.symbol === symbol);
        const counted = seen.reduce((n, e) => n + 1 + (e.data.skipped ?? 0), 0);
        expect([where, symbol, seen.at(-1)?.data.seq, counted]).toEqual([where, symbol, sent.at(-1)?.seq, sent.length]);
        const maxHz = rates[i];
        const at = writes[i].filter((w) => w.symbol === symbol).map((w) => w.at);
        // 1/maxHz apart, less the wait of a view sent on arrival for the next write tick (HOLD_TICK_MS).
        if (maxHz)
          for (let k = 1; k < at.length; k += 1)
            expect([where, symbol, k, at[k] - at[k - 1] >= 1_000 / maxHz - 10]).toEqual([where, symbol, k, true]);
      }
    });
  } finally {
    jest.useRealTimers();
  }
}

describe('StreamHub', () => {
  afterEach(() => jest.useRealTimers());

  it('does not put a client that read history ahead of pub/sub into its group: no message twice', async () => {
    const { hub, live, publish, append, deliver } = setUp();
    const first = publish();
    live(first.seq);
    // Published to history, its PUBLISH not yet arrived at the gateway.
    const ahead = [append(), append()];
    const sink = new RecordingSink();
    const client = hub.attach(sink, { filter: views, maxHz: undefined, lastEventId: first.seq } as never);
    await hub.start(client, first.seq);
    await settle();
    for (const m of ahead) deliver(m.raw);
    publish();
    await settle();
    expect(sink.seqs).toEqual(['1000-20', '1000-30', '1000-40']);
    noDuplicates(sink.seqs);
    await settle();
    expect(hub.groupedCount).toBe(1); // it joins once the hub has caught up
  });

  it('writes a snapshot whole before the next one (a subscribe during start), and live messages only after the last', async () => {
    // One view per chunk, the socket congested: every chunk waits for a drain.
    const { hub, live, publish } = setUp({ SNAPSHOT_CHUNK_BYTES: 1 });
    publish('A');
    publish('B');
    const last = publish('C');
    live(last.seq);
    const sink = new RecordingSink();
    sink.buffered = 300_000;
    const client = hub.attach(sink, { filter: views, maxHz: undefined } as never);
    const started = hub.start(client, undefined);
    await settle();
    // A WS subscribe right after connecting: a fresh snapshot for the new filter.
    const refreshed = hub.refresh(client, new StreamFilter(new Set(['A', 'B']), new Set([MessageType.SymbolUpdated])));
    for (let i = 0; i < 12; i += 1) {
      if (i === 3) publish('A');
      sink.drained();
      sink.buffered = 300_000;
      await settle();
    }
    sink.buffered = 0;
    await Promise.all([started, refreshed]);
    publish('B');
    await ticks();
    const shape = sink.events.map((e) => (e.event === 'snapshot' ? (e.data.more ? 'chunk' : 'end') : `${e.data.symbol}@${e.data.seq}`));
    expect(shape).toEqual(['chunk', 'chunk', 'end', 'chunk', 'end', 'A@1000-40', 'B@1000-50']);
  });

  it('never writes an SSE id twice to a member that leaves its group congested and is conflated on its own', async () => {
    // The reading client of "conflates and then drops a client that stops reading" under load.
    const { hub, live, publish } = setUp();
    live(publish('A').seq);
    const both = new StreamFilter(null, new Set([MessageType.SymbolUpdated, MessageType.TickReceived]));
    const sinks = [new RecordingSink(), new RecordingSink()];
    const clients = sinks.map((sink) => hub.attach(sink, { filter: both, maxHz: undefined } as never));
    for (const client of clients) await hub.start(client, undefined);
    publish('A');
    await ticks();
    expect(hub.groupedCount).toBe(2);
    sinks[0].buffered = 300_000; // past a quarter of CLIENT_BUFFER_MAX_BYTES
    const a1 = publish('A'); // in the group's bytes; the member leaves, congested
    await ticks();
    expect(clients[0].grouped).toBe(false);
    const a2 = publish('A'); // held: congested
    const t1 = publish('B', MessageType.TickReceived); // resume point: a1's seq, written with a1 already
    const t2 = publish('C', MessageType.TickReceived);
    await ticks();
    sinks[0].drained();
    await ticks();
    expect(sinks[0].seqs.slice(-4)).toEqual([a1.seq, t1.seq, t2.seq, a2.seq]);
    idsIncrease(sinks[0]);
    idsIncrease(sinks[1]);
    // While a2 was held, a reconnect resumed from a1 (a2 replayed); once it is written, from the last seq.
    expect(sinks[0].events.slice(-4).map((e) => e.id)).toEqual([a1.seq, undefined, undefined, t2.seq]);
  });

  it('counts the conflations before a drop at the drop, not on the next write tick', async () => {
    const { hub, live, publish, metrics } = setUp({ STREAM_FLUSH_MS: 60_000 });
    live(publish('A').seq);
    const sink = new (class extends RecordingSink {
      override readonly shareable = false;
    })();
    const client = hub.attach(sink, { filter: views, maxHz: undefined } as never);
    await hub.start(client, undefined);
    sink.buffered = 300_000; // congested: past a quarter of CLIENT_BUFFER_MAX_BYTES
    publish('A'); // held
    publish('A'); // replaces it: one conflated
    client.drop('buffer');
    const total = async (counter: Counter) => (await counter.get()).values.reduce((n, v) => n + v.value, 0);
    expect(await total(metrics.dropped)).toBe(1);
    expect(await total(metrics.conflated)).toBe(1);
    await hub.beforeApplicationShutdown(); // its write tick is a minute away
  });

  it('keeps every guarantee under random publishes, congestion, drains, joins and leaves (seeded)', async () => {
    for (let seed = 1; seed <= 6; seed += 1) await randomRun(seed);
  }, 30_000);

  it('resumes a maxHz client from the id it was given while a view was held: the replay, not a reset', async () => {
    const { hub, live, publish } = setUp();
    live(publish('A').seq);
    const sink = new RecordingSink();
    const grid = hub.attach(sink, { filter: views, maxHz: 1 } as never);
    await hub.start(grid, undefined);
    const a1 = publish('A'); // written
    const a2 = publish('A'); // held: one a second for A
    const b = publish('B'); // written, with an id from before the held view
    await ticks();
    expect(sink.seqs).toEqual([a1.seq, b.seq]);
    const resumeAt = lastEventId(sink);
    expect(compareSeq(resumeAt, a2.seq)).toBeLessThan(0);
    grid.close();

    const again = new RecordingSink();
    const resumed = hub.attach(again, { filter: views, maxHz: 1 } as never);
    await hub.start(resumed, resumeAt);
    await ticks();
    expect(again.events.map((e) => e.event)).not.toContain('reset');
    expect(again.seqs).toEqual([a2.seq, b.seq]);
  });

  describe('maxHz clients in a RateGroup', () => {
    /** A RecordingSink that keeps the time and the buffer of every shared write. */
    class TimedSink extends RecordingSink {
      readonly shared: { at: number; bytes: Buffer }[] = [];
      readonly viewsAt: { at: number; symbol: string; seq: string }[] = [];
      override writeBytes(bytes: Buffer): void {
        this.shared.push({ at: Date.now(), bytes });
        this.record(bytes.toString());
      }
      override write(frames: readonly string[]): void {
        this.record(frames.join(''));
      }
      private record(text: string): void {
        this.text += text;
        for (const frame of text.split('\n\n'))
          if (frame.includes(`event: ${MessageType.SymbolUpdated}`)) {
            const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { symbol: string; seq: string };
            this.viewsAt.push({ at: Date.now(), symbol: data.symbol, seq: data.seq });
          }
      }
    }

    const maxHz = 10;
    const connect = async (hub: StreamHub, n: number) => {
      const sinks = Array.from({ length: n }, () => new TimedSink());
      const clients = sinks.map((sink) => hub.attach(sink, { filter: views, maxHz } as never));
      await Promise.all(clients.map((client) => hub.start(client, undefined)));
      return { sinks, clients };
    };
    /** Views of A and B every `everyMs` for `forMs`: far more than maxHz. */
    const feed = async (publish: (symbol?: string) => Published, forMs: number, everyMs = 5) => {
      const last: Record<string, string> = {};
      for (const end = Date.now() + forMs; Date.now() < end; ) {
        for (const symbol of ['A', 'B']) last[symbol] = publish(symbol).seq;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      return last;
    };
    const settleHeld = () => new Promise((resolve) => setTimeout(resolve, 1_000 / maxHz + 60));
    const expectRateAndNewest = (sink: TimedSink, last: Record<string, string>) => {
      for (const symbol of ['A', 'B']) {
        const seen = sink.viewsAt.filter((v) => v.symbol === symbol);
        noDuplicates(seen.map((v) => v.seq));
        // At most maxHz a second: consecutive views of a symbol at least 1/maxHz s apart (a ms of slack: the write follows the stamp).
        for (let i = 1; i < seen.length; i += 1) expect(seen[i].at - seen[i - 1].at).toBeGreaterThanOrEqual(1_000 / maxHz - 2);
        // The newest view always follows.
        expect(seen.at(-1)?.seq).toBe(last[symbol]);
      }
    };

    it('shares one buffer per tick among many maxHz clients, at most maxHz views per symbol each, the newest last', async () => {
      const { hub, live, publish } = setUp();
      live(publish('A').seq);
      const { sinks } = await connect(hub, 20);
      const last = await feed(publish, 700);
      await settleHeld();
      await ticks();
      expect(hub.groupedCount).toBe(20);
      // The same Buffer object to every member on the last ticks: encoded once, not per client.
      const lastShared = sinks[0].shared.at(-1)?.bytes;
      expect(lastShared).toBeDefined();
      for (const sink of sinks) expect(sink.shared.at(-1)?.bytes).toBe(lastShared);
      for (const sink of sinks) expectRateAndNewest(sink, last);
      // Conflated: far fewer views than published (2 symbols × 700 ms / 5 ms).
      expect(sinks[0].viewsAt.length).toBeLessThan(2 * (700 / 1_000) * maxHz + 6);
    });

    it('lets a member that falls behind leave with the views the group held, served on its own, never silently behind', async () => {
      const { hub, live, publish } = setUp();
      live(publish('A').seq);
      const { sinks, clients } = await connect(hub, 3);
      await feed(publish, 300);
      await ticks();
      expect(hub.groupedCount).toBe(3);
      // The socket of one member backs up past a quarter of CLIENT_BUFFER_MAX_BYTES.
      const slow = sinks[0];
      slow.buffered = 300_000;
      const last = await feed(publish, 400);
      expect(clients[0].grouped).toBe(false);
      expect(hub.groupedCount).toBe(2);
      expect(clients[0].isClosed).toBe(false);
      slow.drained();
      await settleHeld();
      await ticks();
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // a held view waits at most the congested interval
      await ticks();
      for (const sink of sinks) expectRateAndNewest(sink, last);
      // The others kept sharing bytes.
      expect(sinks[1].shared.at(-1)?.bytes).toBe(sinks[2].shared.at(-1)?.bytes);
    });

    it('drops a member whose socket passes CLIENT_BUFFER_MAX_BYTES, the others unaffected', async () => {
      const { hub, live, publish } = setUp();
      live(publish('A').seq);
      const { sinks, clients } = await connect(hub, 3);
      await feed(publish, 300);
      await ticks();
      sinks[0].buffered = 2_000_000;
      const last = await feed(publish, 300);
      await settleHeld();
      await ticks();
      expect(clients[0].isClosed).toBe(true);
      expect(hub.groupedCount).toBe(2);
      for (const sink of sinks.slice(1)) expectRateAndNewest(sink, last);
    });

    it('gives a member resume ids from before its held views: a reconnect replays them, no reset', async () => {
      const { hub, live, publish } = setUp();
      live(publish('A').seq);
      const { sinks, clients } = await connect(hub, 2);
      await feed(publish, 300);
      await settleHeld();
      await ticks();
      expect(hub.groupedCount).toBe(2);
      // A view of A now is written, the next one held (rate), B's written with an id from before it.
      await new Promise((resolve) => setTimeout(resolve, 1_000 / maxHz));
      const a1 = publish('A');
      await ticks();
      const a2 = publish('A');
      const b = publish('B');
      await ticks();
      const sink = sinks[0];
      expect(sink.seqs.slice(-2)).toEqual([a1.seq, b.seq]);
      const resumeAt = lastEventId(sink);
      expect(compareSeq(resumeAt, a2.seq)).toBeLessThan(0);
      clients[0].close();

      const again = new RecordingSink();
      const resumed = hub.attach(again, { filter: views, maxHz } as never);
      await hub.start(resumed, resumeAt);
      await ticks();
      expect(again.events.map((e) => e.event)).not.toContain('reset');
      expect(again.seqs).toContain(a2.seq);
      expect(again.seqs).toContain(b.seq);
    });
  });
});
