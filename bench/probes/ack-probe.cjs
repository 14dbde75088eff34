/**
 * Preloaded into the feeder (`node --require bench/probes/ack-probe.cjs dist/apps/feeder/main.js`)
 * by the nominal scenario, to get every ingest round trip exactly, as the feeder's own
 * md_feeder_ack_seconds histogram sees it but without its bucket resolution. It changes
 * nothing in the feeder: it listens on undici's diagnostics channels (fetch's HTTP client)
 * from the request's creation to the end of its response body, and writes
 * [[startEpochMs, ms, status], …] to BENCH_ACK_FILE when the process exits.
 */
const dc = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');

const file = process.env.BENCH_ACK_FILE;
if (file) {
  const started = new WeakMap();
  const samples = [];
  dc.subscribe('undici:request:create', ({ request }) => started.set(request, performance.now()));
  dc.subscribe('undici:request:headers', ({ request, response }) => {
    const entry = started.get(request);
    if (entry !== undefined) started.set(request, { at: entry, status: response.statusCode });
  });
  dc.subscribe('undici:request:trailers', ({ request }) => {
    const entry = started.get(request);
    if (!entry || typeof entry !== 'object') return;
    samples.push([performance.timeOrigin + entry.at, performance.now() - entry.at, entry.status]);
    started.delete(request);
  });
  process.on('exit', () => writeFileSync(file, JSON.stringify(samples)));
}
