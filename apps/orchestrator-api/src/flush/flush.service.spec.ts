import { Logger } from '@nestjs/common';
import type { OrchestratorApiEnv } from '@md/config';
import type { ReceivedTick } from '@md/contracts';
import { unregisteredFlushMetrics } from '../testing/flush-metrics';
import type { BatchWriter, Written } from './batch-writer';
import type { FlushBuffer } from './flush-buffer';
import { FlushService } from './flush.service';
import type { BufferedTick } from './tick-rows';

/** The stream and its group, as far as the loop sees them: own pending entries are read first, acknowledged ones leave. */
class FakeBuffer {
  entries: BufferedTick[] = [];
  pending = new Set<string>();
  acknowledged: string[][] = [];
  groupsCreated = 0;
  readFailures: Error[] = [];
  ackFailures: Error[] = [];
  /** With a delay, an acknowledgement logs its start and its end. */
  ackDelayMs = 0;
  log: string[] = [];

  constructor(private readonly max: number) {}

  add(count: number): void {
    const from = this.entries.length;
    for (let i = from; i < from + count; i++)
      this.entries.push({ id: `${i + 1}-0`, counted: true, tick: { event_id: `e${i + 1}` } as ReceivedTick });
  }

  async createGroup() {
    this.groupsCreated += 1;
  }

  async depth() {
    return this.entries.length;
  }

  async read(ownFirst = true) {
    this.log.push(`read ${ownFirst ? 'own' : 'new'}`);
    const failure = this.readFailures.shift();
    if (failure) throw failure;
    const own = this.entries.filter((e) => this.pending.has(e.id));
    if (ownFirst && own.length) return own.slice(0, this.max);
    const batch = this.entries.filter((e) => !this.pending.has(e.id)).slice(0, this.max);
    for (const e of batch) this.pending.add(e.id);
    return batch;
  }

  async acknowledge(rows: BufferedTick[]) {
    const ids = rows.map((row) => row.id);
    if (this.ackDelayMs) {
      this.log.push(`ack start ${ids.join(',')}`);
      await new Promise((resolve) => setTimeout(resolve, this.ackDelayMs));
    }
    const failure = this.ackFailures.shift();
    if (failure) throw failure;
    this.log.push(`ack ${ids.join(',')}`);
    this.acknowledged.push(ids);
    this.entries = this.entries.filter((e) => !ids.includes(e.id));
    for (const id of ids) this.pending.delete(id);
  }

  async stats() {
    return { buffered: this.entries.length, entries: this.entries.length, pending: this.pending.size, oldestBufferedAgeMs: 0 };
  }

  async observe() {
    // The gauges are FlushBuffer's own (integration-tested).
  }
}

/** Postgres, as far as the loop sees it: fails the next `failures` writes, records when each was tried. */
class FakeWriter {
  failures = 0;
  attempts: number[] = [];
  written: string[] = [];

  constructor(private readonly log: string[]) {}

  async write(entries: BufferedTick[]): Promise<Written> {
    this.attempts.push(Date.now());
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('Postgres unavailable');
    }
    this.log.push(`write ${entries.map((e) => e.id).join(',')}`);
    this.written.push(...entries.map((e) => e.id));
    return { inserted: entries.length, existing: 0, deadLetters: 0, expired: 0 };
  }
}

function flusher(env: Partial<OrchestratorApiEnv>) {
  const config = { FLUSH_ENABLED: true, FLUSH_INTERVAL_MS: 50, FLUSH_MAX_BATCH: 3, ...env } as OrchestratorApiEnv;
  const buffer = new FakeBuffer(config.FLUSH_MAX_BATCH);
  const writer = new FakeWriter(buffer.log);
  const metrics = unregisteredFlushMetrics();
  const service = new FlushService(buffer as unknown as FlushBuffer, writer as unknown as BatchWriter, metrics, config);
  return { service, buffer, writer, metrics };
}

/** Stops the loop (SIGTERM), letting the fake clock run while the hook waits for it. */
async function shutDown(service: FlushService): Promise<void> {
  const stopped = service.beforeApplicationShutdown();
  await jest.advanceTimersByTimeAsync(1_000);
  await stopped;
}

describe('FlushService (the loop, with a fake buffer and writer)', () => {
  beforeAll(() => Logger.overrideLogger(false)); // the retries' warnings
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('retries a failed flush after 200 ms, doubling up to 5 s, then writes the same batch once', async () => {
    const { service, buffer, writer, metrics } = flusher({});
    buffer.add(2);
    writer.failures = 7;
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(20_000);

    // Between two attempts: the backoff, then one poll (50 ms; FLUSH_INTERVAL_MS has passed by then).
    const gaps = writer.attempts.slice(1).map((at, i) => at - writer.attempts[i]);
    expect(gaps.slice(0, 7)).toEqual([200, 400, 800, 1_600, 3_200, 5_000, 5_000].map((backoff) => backoff + 50));
    expect(writer.written).toEqual(['1-0', '2-0']);
    expect(buffer.acknowledged).toEqual([['1-0', '2-0']]);
    expect((await metrics.failures.get()).values[0].value).toBe(7);
    expect(service.lastError).toBeUndefined();
    expect(service.lastFlushAt).toBeDefined();
    await shutDown(service);
  });

  it('reports the last failure until a flush succeeds, and never acknowledges a batch it could not write', async () => {
    const { service, buffer, writer } = flusher({});
    buffer.add(1);
    writer.failures = 1_000;
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(service.lastError).toBe('Postgres unavailable');
    expect(buffer.acknowledged).toEqual([]);

    writer.failures = 0;
    await jest.advanceTimersByTimeAsync(6_000);
    expect(service.lastError).toBeUndefined();
    expect(buffer.acknowledged).toEqual([['1-0']]);
    await shutDown(service);
  });

  it('creates the group again when Redis lost it (NOGROUP)', async () => {
    const { service, buffer, writer } = flusher({});
    buffer.add(1);
    buffer.readFailures.push(new Error("NOGROUP No such key 'md:buffer:ticks' or consumer group 'flushers'"));
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(buffer.groupsCreated).toBe(2);
    expect(writer.written).toEqual(['1-0']);
    await shutDown(service);
  });

  it('reads the next full batch while writing one, and acknowledges each only after its own write', async () => {
    const { service, buffer } = flusher({ FLUSH_MAX_BATCH: 3 });
    buffer.add(7);
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(60);
    expect(buffer.log).toEqual([
      'read own',
      'read new', // the next batch, read before the first is written
      'write 1-0,2-0,3-0',
      'ack 1-0,2-0,3-0',
      'read new',
      'write 4-0,5-0,6-0',
      'ack 4-0,5-0,6-0',
      'write 7-0', // not full: no read ahead
      'ack 7-0',
    ]);
    await shutDown(service);
  });

  it('acknowledges a batch while writing the next, one acknowledgement at a time, and ends the drain after the last', async () => {
    const { service, buffer, writer } = flusher({ FLUSH_MAX_BATCH: 2 });
    buffer.add(5);
    buffer.ackDelayMs = 30;
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(150);
    expect(buffer.log).toEqual([
      'read own',
      'read new',
      'write 1-0,2-0',
      'ack start 1-0,2-0',
      'read new',
      'write 3-0,4-0', // while 1-0,2-0 is being acknowledged
      'ack 1-0,2-0',
      'ack start 3-0,4-0', // only once the previous acknowledgement has ended
      'write 5-0',
      'ack 3-0,4-0',
      'ack start 5-0',
      'ack 5-0',
    ]);
    expect(writer.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    await shutDown(service);
  });

  it('a failed acknowledgement fails the flush; what it had not acknowledged stays pending and is written again (a no-op)', async () => {
    const { service, buffer, writer, metrics } = flusher({ FLUSH_MAX_BATCH: 2 });
    buffer.add(3);
    buffer.ackFailures.push(new Error('Redis went away'));
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(1_000);
    expect((await metrics.failures.get()).values[0].value).toBe(1);
    // 3-0 was written while 1-0,2-0 failed to be acknowledged: the drain stopped before acknowledging it.
    expect(writer.written).toEqual(['1-0', '2-0', '3-0', '1-0', '2-0', '3-0']);
    expect(buffer.acknowledged).toEqual([['1-0', '2-0'], ['3-0']]);
    expect(buffer.entries).toEqual([]);
    await shutDown(service);
  });

  it('at shutdown, stops the loop, then flushes what is buffered batch after batch', async () => {
    const { service, buffer, writer } = flusher({ FLUSH_INTERVAL_MS: 60_000, FLUSH_MAX_BATCH: 2 });
    service.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(1_000);
    buffer.add(1); // below FLUSH_MAX_BATCH, before FLUSH_INTERVAL_MS: the loop leaves it
    await jest.advanceTimersByTimeAsync(1_000);
    expect(writer.written).toEqual([]);

    const stopped = service.beforeApplicationShutdown();
    buffer.add(4);
    await jest.advanceTimersByTimeAsync(1_000);
    await stopped;
    expect(writer.written).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    expect(buffer.acknowledged).toEqual([['1-0', '2-0'], ['3-0', '4-0'], ['5-0']]);

    const reads = buffer.log.filter((line) => line.startsWith('read')).length;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(buffer.log.filter((line) => line.startsWith('read'))).toHaveLength(reads); // the loop has ended
  });

  it('gives up the final flush at its first failure: the batch stays buffered for the next flusher', async () => {
    const { service, buffer, writer } = flusher({ FLUSH_INTERVAL_MS: 60_000, FLUSH_MAX_BATCH: 100 });
    service.onApplicationBootstrap();
    buffer.add(2);
    writer.failures = 1_000;
    await shutDown(service);
    expect(writer.attempts).toHaveLength(1);
    expect(buffer.entries).toHaveLength(2);
  });

  it('with FLUSH_ENABLED=false, never reads, but still reports the buffer', async () => {
    const { service, buffer } = flusher({ FLUSH_ENABLED: false });
    buffer.add(2);
    service.onApplicationBootstrap();
    await shutDown(service);
    expect(buffer.groupsCreated).toBe(0);
    expect(buffer.log).toEqual([]);
    expect(await service.bufferStats()).toEqual({ buffered: 2, entries: 2, pending: 0, oldestBufferedAgeMs: 0, lastFlushAt: undefined });
  });
});
