/**
 * Preloaded into the feeder (`node --require dist/bench/ack-probe.js dist/apps/feeder/main.js`)
 * by the nominal scenario, to get every ingest round trip exactly, as the feeder's own
 * md_feeder_ack_seconds histogram sees it but without its bucket resolution. It changes
 * nothing in the feeder: it listens on undici's diagnostics channels (fetch's HTTP client)
 * from the request's creation to the end of its response body, and writes
 * [[startEpochMs, ms, status], …] to BENCH_ACK_FILE when the process exits.
 */
import dc from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { ackFile } from '../lib/env';

/** What undici publishes on its request channels (the parts read here). */
interface UndiciEvent {
  request: object;
  response?: { statusCode: number };
}

const file = ackFile();
if (file) {
  const started = new WeakMap<object, number | { at: number; status: number }>();
  const samples: [number, number, number][] = [];
  dc.subscribe('undici:request:create', (message) => started.set((message as UndiciEvent).request, performance.now()));
  dc.subscribe('undici:request:headers', (message) => {
    const { request, response } = message as UndiciEvent;
    const entry = started.get(request);
    if (typeof entry === 'number' && response) started.set(request, { at: entry, status: response.statusCode });
  });
  dc.subscribe('undici:request:trailers', (message) => {
    const { request } = message as UndiciEvent;
    const entry = started.get(request);
    if (!entry || typeof entry !== 'object') return;
    samples.push([performance.timeOrigin + entry.at, performance.now() - entry.at, entry.status]);
    started.delete(request);
  });
  process.on('exit', () => writeFileSync(file, JSON.stringify(samples)));
}
