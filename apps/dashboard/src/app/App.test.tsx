import { act, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SymbolSummary } from '@md/contracts';
import { fakeEventSources } from '../testing/fake-event-source';
import { view } from '../testing/views';
import { App, newQueryClient } from './App';

/**
 * The app as a whole against a stubbed dashboard server (fetch) and a fake EventSource: the
 * initial rows from GET /symbols, the stream's snapshot and updates on top, and a reset that
 * reloads GET /symbols while the snapshot after it replaces the grid.
 */
describe('App', () => {
  const sources = fakeEventSources();
  const frames: (() => void)[] = [];
  const calls: string[] = [];
  let symbols: SymbolSummary[];

  beforeEach(() => {
    sources.all.length = 0;
    frames.length = 0;
    calls.length = 0;
    window.history.replaceState(null, '', '/');
    symbols = [{ symbol: 'BTCUSDT', price: 60000, ts: 1, changePct1m: 0.5, tickCount: 10, updatedAt: Date.now() }];
    const answers: Record<string, () => unknown> = {
      '/config.json': () => ({ gatewayUrl: '/gw', apiDocsUrl: 'http://api.test/docs', queueAdminUrl: 'http://api.test/admin/queues' }),
      '/api/symbols': () => symbols,
      '/status': () => ({
        services: [{ name: 'orchestrator-api', ready: true, status: 200, latencyMs: 3 }],
        pipeline: null,
        pipelineError: 'api unreachable',
        at: Date.now(),
      }),
      '/gw/stream/token': () => ({ token: 'tok', expiresAt: Date.now() + 300_000 }),
    };
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string) => {
        calls.push(input);
        const answer = answers[input];
        return answer ? new Response(JSON.stringify(answer()), { status: 200 }) : new Response('{"message":"not found"}', { status: 404 });
      }),
    );
  });

  afterEach(() => vi.unstubAllGlobals());

  const runFrames = () => act(() => frames.splice(0).forEach((frame) => frame()));
  /** The badge in the header and the one in the pipeline panel. */
  const states = () => [...new Set(screen.getAllByTestId('connection-state').map((badge) => badge.textContent))];
  const price = (symbol: string) => within(screen.getByRole('row', { name: new RegExp(symbol) })).getByTestId('price').textContent;

  it('shows GET /symbols first, then the stream; a reset reloads the symbols and the new snapshot replaces the grid', async () => {
    render(
      <App
        queryClient={newQueryClient()}
        feedOptions={{ createEventSource: sources.create, schedule: (frame) => void frames.push(frame) }}
      />,
    );

    await screen.findByRole('row', { name: /BTCUSDT/ });
    expect(price('BTCUSDT')).toBe('60,000.00');
    await waitFor(() => expect(sources.all).toHaveLength(1));
    const source = sources.latest;
    expect(source.url).toBe('/gw/stream?types=symbol.updated&maxHz=5&token=tok');
    expect(states()).toEqual(['connecting']);

    act(() => {
      source.open();
      source.emit(
        'snapshot',
        {
          type: 'snapshot',
          seq: '10-0',
          views: [view({ symbol: 'BTCUSDT', price: 61000, tickCount: 11 }), view({ symbol: 'ETHUSDT', price: 3000, tickCount: 4 })],
        },
        '10-0',
      );
      source.emit(
        'symbol.updated',
        {
          seq: '10-1',
          type: 'symbol.updated',
          symbol: 'ETHUSDT',
          view: view({ symbol: 'ETHUSDT', price: 3001, tickCount: 5 }),
          receivedAt: Date.now(),
        },
        '10-1',
      );
    });
    // Queued for the next frame, not rendered per message.
    expect(price('BTCUSDT')).toBe('60,000.00');
    expect(screen.queryByRole('row', { name: /ETHUSDT/ })).toBeNull();
    runFrames();
    expect(price('BTCUSDT')).toBe('61,000.00');
    expect(price('ETHUSDT')).toBe('3,001.00');
    expect(states()).toEqual(['connected']);

    const symbolCalls = calls.filter((url) => url === '/api/symbols').length;
    symbols = [{ symbol: 'SOLUSDT', price: 150, ts: 1, changePct1m: 0, tickCount: 7, updatedAt: Date.now() }];
    act(() => {
      source.fail();
      source.open();
      source.emit('reset', { type: 'reset', reason: 'resume point beyond history' });
      source.emit('snapshot', { type: 'snapshot', seq: '99-0', views: [view({ symbol: 'SOLUSDT', price: 150, tickCount: 7 })] }, '99-0');
    });
    runFrames();
    expect(states()).toEqual(['reset']);
    await waitFor(() => expect(calls.filter((url) => url === '/api/symbols').length).toBe(symbolCalls + 1));
    const grid = within(screen.getByRole('table', { name: /Live market/ }));
    expect(
      grid
        .getAllByRole('row')
        .slice(1)
        .map((row) => row.dataset.symbol),
    ).toEqual(['SOLUSDT']);
  });

  it('links the queue admin UI and Swagger UI, and shows readiness from /status', async () => {
    render(
      <App
        queryClient={newQueryClient()}
        feedOptions={{ createEventSource: sources.create, schedule: (frame) => void frames.push(frame) }}
      />,
    );
    const queues = await screen.findAllByRole('link', { name: /Queue/ });
    expect(queues.map((a) => a.getAttribute('href'))).toContain('http://api.test/admin/queues');
    expect(screen.getAllByRole('link', { name: /API docs/ })[0].getAttribute('href')).toBe('http://api.test/docs');
    expect(await screen.findByText(/ready · 3 ms/)).toBeTruthy();
    expect(screen.getByText('api unreachable')).toBeTruthy();
  });

  it('never puts an API key in a request the browser makes', async () => {
    render(
      <App
        queryClient={newQueryClient()}
        feedOptions={{ createEventSource: sources.create, schedule: (frame) => void frames.push(frame) }}
      />,
    );
    await waitFor(() => expect(sources.all).toHaveLength(1));
    const fetchMock = vi.mocked(fetch);
    for (const [, init] of fetchMock.mock.calls) {
      expect(JSON.stringify((init as RequestInit | undefined)?.headers ?? {})).not.toMatch(/x-api-key/i);
    }
    expect(sources.latest.url).not.toMatch(/key/i);
  });
});
