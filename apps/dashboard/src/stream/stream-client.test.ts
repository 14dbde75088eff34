import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compareSeq, type RealtimeMessage, type SnapshotMessage } from '@md/contracts';
import { fakeEventSources } from '../testing/fake-event-source';
import { view } from '../testing/views';
import { StreamClient, type ConnectionState, type StreamClientOptions } from './stream-client';

const update = (seq: string, symbol: string, price: number) => ({
  seq,
  type: 'symbol.updated',
  symbol,
  view: view({ symbol, price }),
  receivedAt: 1_700_000_000_000,
});

function setUp(overrides: Partial<StreamClientOptions> = {}) {
  const sources = fakeEventSources();
  let tokens = 0;
  const fetchToken = vi.fn(async () => ({ token: `token-${++tokens}`, expiresAt: Date.now() + 300_000 }));
  const snapshots: SnapshotMessage[] = [];
  const messages: RealtimeMessage[] = [];
  const states: ConnectionState[] = [];
  const resets: string[] = [];
  const client = new StreamClient(
    { streamUrl: '/gw/stream', types: ['symbol.updated'], fetchToken, createEventSource: sources.create, random: () => 0.5, ...overrides },
    {
      snapshot: (message) => snapshots.push(message),
      message: (message) => messages.push(message),
      reset: (message) => resets.push(message.reason),
      state: (state) => states.push(state),
    },
  );
  return { client, sources, fetchToken, snapshots, messages, states, resets };
}

/** Lets the client's token fetch (a resolved promise) finish. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('compareSeq', () => {
  it('orders Redis stream ids as two integers, not as strings', () => {
    expect(compareSeq('9-0', '10-0')).toBeLessThan(0);
    expect(compareSeq('1700000000000-10', '1700000000000-9')).toBeGreaterThan(0);
    expect(compareSeq('1700000000000-3', '1700000000000-3')).toBe(0);
    expect(compareSeq('1700000000001-0', '1700000000000-99')).toBeGreaterThan(0);
  });
});

describe('StreamClient', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('connects with a token and the filter, takes the snapshot, then live messages in order', async () => {
    const { client, sources, snapshots, messages, states } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    expect(source.url.startsWith('/gw/stream?')).toBe(true);
    expect(Object.fromEntries(source.query)).toEqual({ types: 'symbol.updated', token: 'token-1' });

    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '100-0', views: [view({ symbol: 'BTCUSDT', price: 1 })] }, '100-0');
    source.emit('symbol.updated', update('100-1', 'BTCUSDT', 2), '100-1');
    source.emit('symbol.updated', update('101-0', 'BTCUSDT', 3), '101-0');

    expect(states).toEqual(['connected']);
    expect(snapshots.map((s) => s.seq)).toEqual(['100-0']);
    expect(messages.map((m) => m.seq)).toEqual(['100-1', '101-0']);
    expect(client.lastEventId).toBe('101-0');
  });

  it('drops messages it has already seen: replays, and updates already in the snapshot', async () => {
    const { client, sources, messages } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '200-5', views: [] }, '200-5');
    source.emit('symbol.updated', update('200-4', 'ETHUSDT', 1), '200-4'); // older than the snapshot
    source.emit('symbol.updated', update('200-6', 'ETHUSDT', 2), '200-6');
    source.emit('symbol.updated', update('200-6', 'ETHUSDT', 2), '200-6'); // a replay
    source.emit('symbol.updated', update('1000-0', 'ETHUSDT', 3), '1000-0'); // "1000-0" < "200-6" as strings
    source.emit('symbol.updated', 'not json', '1000-1');
    expect(messages.map((m) => m.seq)).toEqual(['200-6', '1000-0']);
  });

  it('keeps a view the gateway held back (maxHz) and sent after a newer message of another symbol', async () => {
    const { client, sources, messages } = setUp({ maxHz: 5 });
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '10-1', views: [] }, '10-1');
    source.emit('symbol.updated', update('10-2', 'A', 1), '10-2');
    // A@10-3 is held by the gateway; B@10-4 goes out with the id just before the held view.
    source.emit('symbol.updated', update('10-4', 'B', 2), '10-2');
    source.emit('symbol.updated', update('10-3', 'A', 3), '10-4'); // the held view, released
    expect(messages.map((m) => `${m.symbol}@${m.seq}`)).toEqual(['A@10-2', 'B@10-4', 'A@10-3']);
    expect(client.lastEventId).toBe('10-4');
  });

  it('resumes a new EventSource from the last SSE id, not the last seq: a held view is replayed, a duplicate dropped', async () => {
    const { client, sources, messages } = setUp({ maxHz: 5 });
    client.start();
    await settle();
    const first = sources.latest;
    first.open();
    first.emit('snapshot', { type: 'snapshot', seq: '10-1', views: [] }, '10-1');
    first.emit('symbol.updated', update('10-2', 'A', 1), '10-2');
    first.emit('symbol.updated', update('10-4', 'B', 2), '10-2'); // A@10-3 still held
    expect(client.lastEventId).toBe('10-2');

    first.fail(true); // e.g. 401: the token in its URL expired
    await vi.advanceTimersByTimeAsync(750);
    const second = sources.latest;
    expect(second).not.toBe(first);
    expect(second.query.get('lastEventId')).toBe('10-2');
    second.open();
    second.emit('symbol.updated', update('10-3', 'A', 3), '10-3');
    second.emit('symbol.updated', update('10-4', 'B', 2), '10-4'); // already seen
    second.emit('symbol.updated', update('10-5', 'B', 4), '10-5');
    expect(messages.map((m) => `${m.symbol}@${m.seq}`)).toEqual(['A@10-2', 'B@10-4', 'A@10-3', 'B@10-5']);
  });

  it("resumes after a drop the browser reconnects itself: 'reconnecting', then 'resumed' with the missed messages", async () => {
    const { client, sources, messages, states, snapshots } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '300-0', views: [] }, '300-0');
    source.emit('symbol.updated', update('300-1', 'SOLUSDT', 1), '300-1');

    source.fail(); // network drop: EventSource is CONNECTING again, and will send Last-Event-ID: 300-1
    expect(states).toEqual(['connected', 'reconnecting']);
    expect(sources.all).toHaveLength(1); // the browser reconnects; no new EventSource

    source.open();
    source.emit('symbol.updated', update('300-1', 'SOLUSDT', 1), '300-1'); // the gateway replays from 300-1 inclusive at worst
    source.emit('symbol.updated', update('300-2', 'SOLUSDT', 2), '300-2');
    expect(states).toEqual(['connected', 'reconnecting', 'resumed']);
    expect(messages.map((m) => m.seq)).toEqual(['300-1', '300-2']);
    expect(snapshots).toHaveLength(1);
  });

  it("handles a reset: 'reset' state, the reset handler, then the new snapshot replaces the state", async () => {
    const { client, sources, snapshots, states, resets, messages } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '400-0', views: [view({ symbol: 'OLD', price: 1 })] }, '400-0');
    source.fail();
    source.open();
    source.emit('reset', { type: 'reset', reason: 'resume point 400-0 is beyond retained history' });
    source.emit('snapshot', { type: 'snapshot', seq: '900-0', views: [view({ symbol: 'NEW', price: 2 })] }, '900-0');
    source.emit('symbol.updated', update('900-1', 'NEW', 3), '900-1');

    expect(states).toEqual(['connected', 'reconnecting', 'resumed', 'reset']);
    expect(resets).toEqual(['resume point 400-0 is beyond retained history']);
    expect(snapshots.map((s) => s.views.map((v) => v.symbol))).toEqual([['OLD'], ['NEW']]);
    expect(messages.map((m) => m.seq)).toEqual(['900-1']);
    expect(client.lastEventId).toBe('900-1');
  });

  it('puts a snapshot sent in chunks back together: one state, the resume point only with the last chunk', async () => {
    const { client, sources, snapshots, messages } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '600-0', more: true, views: [view({ symbol: 'A', price: 1 })] });
    source.emit('snapshot', { type: 'snapshot', seq: '600-0', more: true, views: [view({ symbol: 'B', price: 2 })] });
    expect(snapshots).toHaveLength(0);
    expect(client.lastEventId).toBeUndefined();
    // Dropped half-way: the chunks so far are forgotten, the new connection sends the snapshot again.
    source.fail();
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '600-0', more: true, views: [view({ symbol: 'A', price: 1 })] });
    source.emit('snapshot', { type: 'snapshot', seq: '600-0', more: true, views: [view({ symbol: 'B', price: 2 })] });
    source.emit('snapshot', { type: 'snapshot', seq: '600-0', views: [view({ symbol: 'C', price: 3 })] }, '600-0');
    source.emit('symbol.updated', update('600-1', 'A', 4), '600-1');
    expect(snapshots.map((s) => [s.seq, s.views.map((v) => v.symbol)])).toEqual([['600-0', ['A', 'B', 'C']]]);
    expect(messages.map((m) => m.seq)).toEqual(['600-1']);
    expect(client.lastEventId).toBe('600-1');
  });

  it('reopens a closed stream (401: expired token) itself, with a new token and lastEventId, after a backoff', async () => {
    const { client, sources, fetchToken, states, messages } = setUp({ retry: { baseMs: 1_000, maxMs: 8_000 } });
    client.start();
    await settle();
    const first = sources.latest;
    first.open();
    first.emit('snapshot', { type: 'snapshot', seq: '500-0', views: [] }, '500-0');
    first.emit('symbol.updated', update('500-7', 'XAUUSD', 1), '500-7');

    first.fail(true); // the browser gives up: readyState CLOSED
    expect(first.closed).toBe(true);
    expect(states.at(-1)).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(749); // backoff: 1000 ms × (0.5 + random/2) = 750 ms
    expect(sources.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sources.all).toHaveLength(2);
    expect(fetchToken).toHaveBeenCalledTimes(2);
    const second = sources.latest;
    expect(Object.fromEntries(second.query)).toEqual({ types: 'symbol.updated', token: 'token-2', lastEventId: '500-7' });

    second.open();
    second.emit('symbol.updated', update('500-8', 'XAUUSD', 2), '500-8');
    expect(states.at(-1)).toBe('resumed');
    expect(messages.map((m) => m.seq)).toEqual(['500-7', '500-8']);
    // Events of the abandoned EventSource are ignored.
    first.emit('symbol.updated', update('600-0', 'XAUUSD', 9), '600-0');
    expect(messages).toHaveLength(2);
  });

  it('backs off exponentially while the token cannot be had, up to the maximum', async () => {
    const fetchToken = vi.fn(async () => {
      throw new Error('502');
    });
    const { client, sources } = setUp({ fetchToken, retry: { baseMs: 1_000, maxMs: 4_000 }, random: () => 1 });
    client.start();
    await settle();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    for (const [wait, calls] of [
      [1_000, 2],
      [2_000, 3],
      [4_000, 4],
      [4_000, 5],
    ]) {
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(fetchToken).toHaveBeenCalledTimes(calls - 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(fetchToken).toHaveBeenCalledTimes(calls);
    }
    expect(sources.all).toHaveLength(0);
    client.stop();
  });

  it('fetches a new token for a reopened stream (a closed EventSource does not say whether it was a 401)', async () => {
    const { client, sources, fetchToken } = setUp({ retry: { baseMs: 10, maxMs: 10 } });
    client.start();
    await settle();
    sources.latest.open();
    sources.latest.fail(true);
    await vi.advanceTimersByTimeAsync(10);
    expect(fetchToken).toHaveBeenCalledTimes(2);
    expect(sources.latest.query.get('token')).toBe('token-2');
  });

  it('reuses a token still valid when restarted (React StrictMode mounts twice)', async () => {
    const { client, sources, fetchToken } = setUp();
    client.start();
    await settle();
    client.stop();
    client.start();
    await settle();
    expect(fetchToken).toHaveBeenCalledTimes(1);
    expect(sources.all.map((s) => s.query.get('token'))).toEqual(['token-1', 'token-1']);
    expect(sources.all[0].closed).toBe(true);
  });

  it('stops for good: closes the EventSource and ignores late events', async () => {
    const { client, sources, states, messages } = setUp();
    client.start();
    await settle();
    const source = sources.latest;
    source.open();
    client.stop();
    expect(source.closed).toBe(true);
    expect(states.at(-1)).toBe('closed');
    source.emit('symbol.updated', update('1-1', 'BTCUSDT', 1), '1-1');
    source.fail(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(messages).toHaveLength(0);
    expect(sources.all).toHaveLength(1);
  });
});
