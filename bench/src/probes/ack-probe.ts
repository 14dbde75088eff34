/**
 * Preloaded into the feeder (`node --require dist/bench/ack-probe.js dist/apps/feeder/main.js`)
 * by the nominal scenario, to get every ingest round trip exactly, as the feeder's own
 * md_feeder_ack_seconds histogram sees it but without its bucket resolution. It changes
 * nothing in the feeder: it listens on node:http's client diagnostics channels (the feeder's
 * JsonPoster) from the request's creation to the end of its response body, and writes
 * [[startEpochMs, ms, status], …] to BENCH_ACK_FILE when the process exits.
 */
import dc from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { ackFile } from '../lib/env';

const file = ackFile();
if (file) {
  const started = new WeakMap<ClientRequest, number>();
  const samples: [number, number, number][] = [];
  dc.subscribe('http.client.request.start', (message) => started.set((message as { request: ClientRequest }).request, performance.now()));
  // Published when the answer's headers are in; its body ends later (the feeder reads it all).
  dc.subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const at = started.get(request);
    if (at === undefined) return;
    started.delete(request);
    response.once('end', () => samples.push([performance.timeOrigin + at, performance.now() - at, response.statusCode ?? 0]));
  });
  process.on('exit', () => writeFileSync(file, JSON.stringify(samples)));
}
