import { type ScannedMessage, SseScanner } from './sse-scanner';

/** Frames as the gateway writes them (apps/realtime-gateway/src/stream/sinks.ts), one chunk per write. */
const frame = (id: string | undefined, type: string, data: string) => `${id ? `id: ${id}\n` : ''}event: ${type}\ndata: ${data}\n\n`;
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

const view = (seq: string, ts: number, receivedAt?: number, skipped?: number) =>
  `{${skipped ? `"skipped":${skipped},` : ''}"seq":"${seq}","type":"symbol.updated","symbol":"BTC","view":{"symbol":"BTC","ts":${ts},"price":"101.5","tickCount":7}${receivedAt ? `,"receivedAt":${receivedAt}` : ''}}`;
const tick = (seq: string, receivedAt: number) =>
  `{"seq":"${seq}","type":"tick.received","symbol":"ETH","tick":{"price":2,"receivedAt":1},"receivedAt":${receivedAt}}`;

const STREAM = [
  chunk(frame('1764000000000-0', 'symbol.updated', view('1764000000000-0', 1763999999000, 1764000000100))),
  chunk(
    frame('1764000000001-3', 'tick.received', tick('1764000000001-3', 1764000000200)) +
      frame('1764000000002-0', 'symbol.updated', view('1764000000002-0', 5, 1764000000300, 12)),
  ),
  chunk(': heartbeat\n\n'),
  chunk(frame(undefined, 'reset', '{"reason":"history"}')),
  // After a reset, a snapshot: its data has a seq too, but it is not a live message.
  chunk(frame('1764000000002-5', 'snapshot', '{"type":"snapshot","seq":"1764000000002-5","views":[{"symbol":"BTC","ts":4}]}')),
  chunk(frame('1764000000003-10', 'symbol.updated', view('1764000000003-10', 6))),
].join('');

const EXPECTED: ScannedMessage[] = [
  { seqMs: 1764000000000, seqN: 0, type: 'symbol.updated', receivedAt: 1764000000100, viewTs: 1763999999000, skipped: 0 },
  { seqMs: 1764000000001, seqN: 3, type: 'tick.received', receivedAt: 1764000000200, viewTs: undefined, skipped: 0 },
  { seqMs: 1764000000002, seqN: 0, type: 'symbol.updated', receivedAt: 1764000000300, viewTs: 5, skipped: 12 },
  { seqMs: 1764000000003, seqN: 10, type: 'symbol.updated', receivedAt: undefined, viewTs: 6, skipped: 0 },
];

function scan(pieces: Buffer[], viewTs = true) {
  const seen: (ScannedMessage | string)[] = [];
  const scanner = new SseScanner(
    (message) => seen.push(message),
    () => seen.push('heartbeat'),
    viewTs,
    (event) => seen.push(`event ${event}`),
  );
  for (const piece of pieces) scanner.push(piece);
  return seen;
}

describe('SseScanner', () => {
  const bytes = Buffer.from(STREAM, 'latin1');
  const expected = [EXPECTED[0], EXPECTED[1], EXPECTED[2], 'heartbeat', 'event reset', 'event snapshot', EXPECTED[3]];

  it("reads every message's seq, type, receivedAt, view ts and skipped count, and the heartbeats", () => {
    expect(scan([bytes])).toEqual(expected);
  });

  it('reads the same whatever the reads cut: at every byte, and byte by byte', () => {
    for (let at = 0; at <= bytes.length; at++) expect(scan([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(expected);
    expect(scan([...bytes].map((byte) => Buffer.from([byte])))).toEqual(expected);
  });

  it('reads no view ts unless asked', () => {
    expect(scan([bytes], false).filter((m) => typeof m !== 'string' && m.viewTs !== undefined)).toEqual([]);
  });

  it('finds a receivedAt that is not last in its message', () => {
    const data = `{"seq":"9-1","type":"symbol.updated","receivedAt":77,"view":{"ts":1}}`;
    expect(scan([Buffer.from(chunk(frame('9-1', 'symbol.updated', data)))])).toEqual([
      { seqMs: 9, seqN: 1, type: 'symbol.updated', receivedAt: 77, viewTs: 1, skipped: 0 },
    ]);
  });
});
