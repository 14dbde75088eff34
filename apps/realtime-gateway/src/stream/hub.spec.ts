import { Counter, Gauge, Histogram } from 'prom-client';
import type { GatewayEnv } from '@md/config';
import { compareSeq, MessageType } from '@md/contracts';
import type { Sink, Snapshot } from './client';
import { StreamFilter } from './filter';
import type { StreamHistory } from './history';
import { StreamHub } from './hub';
import { parsePublished, type Published } from './published';

/**
 * The hub's write path without Redis: history is an in-memory list (a unit test of the hub's
 * ordering; the integration specs run it against the real Redis), pub/sub is `publish`.
 */

/** An SSE-like sink that records the ids and events it was given, shared bytes included. */
class RecordingSink implements Sink {
  readonly transport = 'sse' as const;
  readonly shareable = true;
  text = '';
  buffered = 0;
  private drain?: () => void;
  encode(message: Published, id: string, skipped: number): string {
    return `id: ${id}\nevent: ${message.type}\ndata: ${skipped ? `{"skipped":${skipped},${message.raw.slice(1)}` : message.raw}\n\n`;
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
  bufferedBytes(): number {
    return this.buffered;
  }
  onDrain(listener: () => void): void {
    this.drain = listener;
  }
  drained(): void {
    this.buffered = 0;
    this.drain?.();
  }
  heartbeat(): boolean {
    return true;
  }
  close(): void {
    /* nothing to release */
  }
  /** The frames written, in order. */
  get events(): { id?: string; event: string; data: { seq?: string; symbol?: string; skipped?: number; views?: unknown[]; more?: boolean } }[] {
    return this.text
      .split('\n\n')
      .filter(Boolean)
      .map((frame) => {
        const fields = Object.fromEntries(frame.split('\n').map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]));
        return { id: fields['id'], event: fields['event'], data: JSON.parse(fields['data']) };
      });
  }
  /** The seqs of the live messages written, in order. */
  get seqs(): string[] {
    return this.events.filter((e) => e.event === MessageType.SymbolUpdated || e.event === MessageType.TickReceived).map((e) => e.data.seq as string);
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

const env = { MAX_CLIENTS: 100, CLIENT_BUFFER_MAX_BYTES: 1_000_000, SNAPSHOT_CHUNK_BYTES: 65_536, STREAM_FLUSH_MS: 0, HEARTBEAT_MS: 60_000 } as GatewayEnv;
const views = new StreamFilter(null, new Set([MessageType.SymbolUpdated]));

function setUp(overrides: Partial<GatewayEnv> = {}) {
  const history = new MemoryHistory();
  const counter = (labelNames: string[]) => new Counter({ name: 'c', help: 'c', labelNames, registers: [] });
  const gauge = (labelNames: string[]) => new Gauge({ name: 'g', help: 'g', labelNames, registers: [] });
  const hub = new StreamHub(
    { ...env, ...overrides } as GatewayEnv,
    history as unknown as StreamHistory,
    gauge(['transport']),
    counter(['transport', 'type']),
    counter(['transport']),
    counter(['transport']),
    counter(['transport', 'reason']),
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
  const append = (symbol = 'A') => {
    // Ids with gaps, as Redis makes them across milliseconds: the seq before one is not an entry.
    const seq = `1000-${++n * 10}`;
    const raw = JSON.stringify({ seq, type: MessageType.SymbolUpdated, symbol, view: { symbol, n } });
    const message = parsePublished(raw) as Published;
    history.entries.push(message);
    history.views.set(symbol, { symbol, n });
    return { message, raw };
  };
  const deliver = (raw: string) => internals.onMessage(raw);
  const publish = (symbol = 'A') => {
    const m = append(symbol);
    deliver(m.raw);
    return m.message;
  };
  return { hub, history, live, append, deliver, publish, internals };
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

const noDuplicates = (seqs: string[]) => {
  expect(new Set(seqs).size).toBe(seqs.length);
  for (let i = 1; i < seqs.length; i += 1) expect(compareSeq(seqs[i], seqs[i - 1])).toBeGreaterThan(0);
};

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
    const resumeAt = sink.events.at(-1)?.id as string;
    expect(compareSeq(resumeAt, a2.seq)).toBeLessThan(0);
    grid.close();

    const again = new RecordingSink();
    const resumed = hub.attach(again, { filter: views, maxHz: 1 } as never);
    await hub.start(resumed, resumeAt);
    await ticks();
    expect(again.events.map((e) => e.event)).not.toContain('reset');
    expect(again.seqs).toEqual([a2.seq, b.seq]);
  });
});
