import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState } from 'react';
import { useConfig } from '../api/queries';
import { MarketGrid } from '../market/MarketGrid';
import { ConnectionBadge, PipelinePanel, STATE_STYLE } from '../pipeline/PipelinePanel';
import type { FeedOptions } from '../stream/live-feed';
import { SymbolPage } from '../symbol/SymbolPage';
import { Announcer } from './Announcer';
import { LiveProvider, useConnection, useMarketRows, useNow } from './live';
import { Link, useRoute } from './router';

export function newQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 1_000 } } });
}

/** The app: config first (where the stream is), then the live feed and the pages. */
export function App({ queryClient, feedOptions }: { queryClient?: QueryClient; feedOptions?: Partial<FeedOptions> }) {
  const [client] = useState(() => queryClient ?? newQueryClient());
  return (
    <QueryClientProvider client={client}>
      <Configured feedOptions={feedOptions} />
    </QueryClientProvider>
  );
}

function Configured({ feedOptions }: { feedOptions?: Partial<FeedOptions> }) {
  const config = useConfig();
  if (config.isError) return <p className="p-6 text-rose-300">The dashboard server did not answer /config.json: {config.error.message}</p>;
  if (!config.data) return <p className="p-6 text-slate-400">Loading…</p>;
  return (
    <LiveProvider gatewayUrl={config.data.gatewayUrl} feedOptions={feedOptions}>
      <Shell />
    </LiveProvider>
  );
}

function Shell() {
  const route = useRoute();
  const config = useConfig();
  const connection = useConnection();
  const now = useNow(500);
  return (
    <div className="min-h-screen bg-slate-950 text-slate-100">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-sky-700 focus:px-3 focus:py-1"
      >
        Skip to content
      </a>
      <header className="flex flex-wrap items-center justify-between gap-3 border-b border-slate-800 px-4 py-3">
        <h1 className="text-lg font-semibold">
          <Link to="/" className="hover:text-sky-300">
            Market data
          </Link>
        </h1>
        <div className="flex items-center gap-3 text-sm">
          <ConnectionBadge state={connection.state} />
          <a href={config.data?.queueAdminUrl} target="_blank" rel="noreferrer" className="text-sky-300 hover:underline">
            Queues ↗
          </a>
          <a href={config.data?.apiDocsUrl} target="_blank" rel="noreferrer" className="text-sky-300 hover:underline">
            API docs ↗
          </a>
        </div>
      </header>
      <Announcer message={`Stream ${STATE_STYLE[connection.state].label}`} />
      <div className="grid gap-4 p-4 lg:grid-cols-[minmax(0,1fr)_20rem]">
        <main id="main" tabIndex={-1} className="min-w-0 outline-none">
          {route.page === 'market' && <MarketScreen now={now} />}
          {route.page === 'symbol' && <SymbolPage key={route.symbol} symbol={route.symbol} />}
          {route.page === 'not-found' && (
            <p>
              No such page.{' '}
              <Link to="/" className="text-sky-300 underline">
                Back to the market
              </Link>
            </p>
          )}
        </main>
        <PipelinePanel config={config.data} now={now} />
      </div>
    </div>
  );
}

function MarketScreen({ now }: { now: number }) {
  const rows = useMarketRows();
  return (
    <section aria-labelledby="market-title" className="space-y-2">
      <h2 id="market-title" className="text-sm font-medium uppercase tracking-wide text-slate-400">
        Market
      </h2>
      <MarketGrid rows={rows} now={now} />
    </section>
  );
}
