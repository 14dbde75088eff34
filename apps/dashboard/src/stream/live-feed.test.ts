import { describe, expect, it, vi } from 'vitest';
import { fakeEventSources } from '../testing/fake-event-source';
import { view } from '../testing/views';
import { FrameBatcher } from './frame-batcher';
import { LatencyWindow, percentile } from './latency';
import { LiveFeed } from './live-feed';

/** A frame scheduler the test runs by hand. */
function manualFrames() {
  const queued: (() => void)[] = [];
  return {
    schedule: (callback: () => void) => void queued.push(callback),
    get pending() {
      return queued.length;
    },
    run() {
      for (const callback of queued.splice(0)) callback();
    },
  };
}

describe('FrameBatcher', () => {
  it('hands over everything that arrived in a frame at once, in order, scheduling one frame', () => {
    const frames = manualFrames();
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>((items) => batches.push(items), frames.schedule);
    for (let i = 0; i < 100; i++) batcher.push(i);
    expect(frames.pending).toBe(1);
    expect(batches).toEqual([]);
    frames.run();
    expect(batches).toEqual([Array.from({ length: 100 }, (_, i) => i)]);
    batcher.push(100);
    frames.run();
    expect(batches[1]).toEqual([100]);
  });
});

describe('LatencyWindow', () => {
  it('gives nearest-rank p50/p95 over the last minute only', () => {
    const window = new LatencyWindow(60_000);
    for (let i = 1; i <= 100; i++) window.add(i, 1_000);
    expect(window.summary(1_000)).toEqual({ p50: 50, p95: 95, count: 100 });
    window.add(1_000, 50_000);
    expect(window.summary(61_001)).toEqual({ p50: 1_000, p95: 1_000, count: 1 });
    expect(window.summary(200_000)).toEqual({ count: 0 });
    expect(percentile([7], 95)).toBe(7);
  });
});

describe('LiveFeed', () => {
  it('applies 100 stream messages in one store update per frame, and measures their latency at that frame', async () => {
    const frames = manualFrames();
    const sources = fakeEventSources();
    let clock = 1_700_000_000_000;
    const feed = new LiveFeed({
      streamUrl: '/gw/stream',
      fetchToken: async () => ({ token: 't', expiresAt: clock + 60_000 }),
      createEventSource: sources.create,
      schedule: frames.schedule,
      now: () => clock,
    });
    const renders = vi.fn();
    feed.market.subscribe(renders);
    feed.start();
    await vi.waitFor(() => expect(sources.all).toHaveLength(1));
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '1-0', views: [view({ symbol: 'BTCUSDT', price: 100 })] }, '1-0');
    for (let i = 1; i <= 100; i++) {
      const message = {
        seq: `1-${i}`,
        type: 'symbol.updated',
        symbol: 'BTCUSDT',
        view: view({ symbol: 'BTCUSDT', price: 100 + i, tickCount: i + 1 }),
        receivedAt: clock - 40,
      };
      source.emit('symbol.updated', message, `1-${i}`);
    }
    expect(renders).not.toHaveBeenCalled(); // nothing before the frame
    clock += 10;
    frames.run();
    // The snapshot, then the 100 updates: two commits, both in this one frame.
    expect(renders).toHaveBeenCalledTimes(2);
    expect(feed.market.get('BTCUSDT')).toMatchObject({ price: 200, tickCount: 101 });
    expect(feed.latency.summary(clock)).toEqual({ p50: 50, p95: 50, count: 100 });
    expect(feed.status.get().state).toBe('connected');
    feed.stop();
  });

  it('counts drops and resets and reports the reset', async () => {
    const frames = manualFrames();
    const sources = fakeEventSources();
    const onReset = vi.fn();
    const feed = new LiveFeed({
      streamUrl: '/gw/stream',
      fetchToken: async () => ({ token: 't', expiresAt: Date.now() + 60_000 }),
      createEventSource: sources.create,
      schedule: frames.schedule,
      onReset,
    });
    feed.start();
    await vi.waitFor(() => expect(sources.all).toHaveLength(1));
    const source = sources.latest;
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '5-0', views: [view({ symbol: 'A', price: 1 })] }, '5-0');
    source.fail();
    source.open();
    source.emit('reset', { type: 'reset', reason: 'too old' });
    source.emit('snapshot', { type: 'snapshot', seq: '9-0', views: [view({ symbol: 'B', price: 2 })] }, '9-0');
    frames.run();
    expect(feed.status.get()).toMatchObject({ state: 'reset', drops: 1, resets: 1 });
    expect(onReset).toHaveBeenCalledWith({ type: 'reset', reason: 'too old' });
    expect(feed.market.getRows().map((r) => r.symbol)).toEqual(['B']);
    feed.stop();
  });
});

describe('LiveFeed under conflation', () => {
  it('asks the gateway for its maxHz and counts the views it skipped, for the panel to show', async () => {
    const frames = manualFrames();
    const sources = fakeEventSources();
    const feed = new LiveFeed({
      streamUrl: '/gw/stream',
      fetchToken: async () => ({ token: 't', expiresAt: Date.now() + 60_000 }),
      createEventSource: sources.create,
      schedule: frames.schedule,
      maxHz: 5,
    });
    feed.start();
    await vi.waitFor(() => expect(sources.all).toHaveLength(1));
    const source = sources.latest;
    expect(source.query.get('maxHz')).toBe('5');
    source.open();
    source.emit('snapshot', { type: 'snapshot', seq: '1-0', views: [] }, '1-0');
    source.emit(
      'symbol.updated',
      { seq: '1-5', type: 'symbol.updated', symbol: 'A', view: view({ symbol: 'A', price: 1 }), skipped: 4 },
      '1-5',
    );
    source.emit(
      'symbol.updated',
      { seq: '1-9', type: 'symbol.updated', symbol: 'A', view: view({ symbol: 'A', price: 2 }), skipped: 3 },
      '1-9',
    );
    frames.run();
    expect(feed.status.get()).toMatchObject({ maxHz: 5, skipped: 7 });
    feed.stop();
  });
});
