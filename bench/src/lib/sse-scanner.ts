/**
 * What the bench's SSE clients need of a live stream, read from the bytes as they come: one
 * call per message (its seq, type, receivedAt, skipped count and, when asked, the view's ts) and
 * one per heartbeat comment. Not a parser: the gateway's frames have a known shape
 * (apps/realtime-gateway/src/stream/sinks.ts), and at 5,000 clients × 100 messages a second
 * the clients share the gateway's two cores, so every byte is looked at about once and nothing
 * is decoded to a string:
 *
 *     [\r\n<hex size>\r\n]  id: <seq>\n  event: <type>\n  data: {["skipped":<n>,]"seq":"<ms>-<n>",…[,"receivedAt":<ms>]}\n\n
 *
 * The stream is chunked HTTP/1.1 whose chunks hold whole frames, so a chunk's size line only
 * ever sits between frames. A frame cut by the end of a read waits for the next read. The
 * frame's `event:` line says what it is: a live message (`symbol.updated`, `tick.received`), or
 * another event (a `reset`, a `snapshot` after it), which is reported by name, not as a message.
 */

export interface ScannedMessage {
  seqMs: number;
  seqN: number;
  type: 'tick.received' | 'symbol.updated';
  receivedAt?: number;
  viewTs?: number;
  skipped: number;
}

const bytes = (text: string) => Buffer.from(text, 'latin1');
const FRAME_END = bytes('\n\n');
const SEQ = bytes('"seq":"');
const RECEIVED = bytes(',"receivedAt":');
const VIEW = bytes('"view":{');
const TS = bytes('"ts":');
const ID_LINE = bytes('id: ');
const EVENT_LINE = bytes('event: ');
const LIVE_TYPES = (['symbol.updated', 'tick.received'] as const).map((type) => ({ type, line: bytes(`${type}\n`) }));
const SKIPPED = bytes('{"skipped":');
const HEARTBEAT = bytes(': heartbeat');
const CR = 13;
const LF = 10;
const COLON = 58;
const QUOTE = 34;
const DASH = 45;
const CLOSE = 125;
const COMMA = 44;

const isDigit = (byte: number) => byte >= 48 && byte <= 57;

/** Whether `buffer` holds `word` at `at`. */
function holds(buffer: Buffer, at: number, word: Buffer): boolean {
  if (at < 0 || at + word.length > buffer.length) return false;
  for (let i = 0; i < word.length; i++) if (buffer[at + i] !== word[i]) return false;
  return true;
}

/** The unsigned integer whose digits start at `at` (and its end), or undefined when there is none before `limit`. */
function integerAt(buffer: Buffer, at: number, limit: number): { value: number; end: number } | undefined {
  let value = 0;
  let end = at;
  for (; end < limit && isDigit(buffer[end]); end++) value = value * 10 + buffer[end] - 48;
  return end === at ? undefined : { value, end };
}

/** The unsigned integer whose last digit is at `last` (and where its digits start). */
function integerEndingAt(buffer: Buffer, last: number): { value: number; start: number } | undefined {
  let start = last;
  while (start >= 0 && isDigit(buffer[start])) start--;
  start += 1;
  const integer = integerAt(buffer, start, last + 1);
  return integer && { value: integer.value, start };
}

const INCOMPLETE = -1;
const NOT_A_SIZE_LINE = -2;
const isHex = (byte: number) => isDigit(byte) || (byte >= 97 && byte <= 102);

/**
 * Where the chunk size line `<hex>\r\n` at `at` ends, or NOT_A_SIZE_LINE (a frame starts there:
 * `id:`, `event:`, `data:` or a `:` comment, none of them hex digits then CR), or INCOMPLETE.
 */
function sizeLineEnd(buffer: Buffer, at: number): number {
  let end = at;
  while (end < buffer.length && isHex(buffer[end])) end++;
  if (end + 1 >= buffer.length) return INCOMPLETE;
  return end > at && buffer[end] === CR ? end + 2 : NOT_A_SIZE_LINE;
}

export class SseScanner {
  private rest?: Buffer;

  constructor(
    private readonly onMessage: (message: ScannedMessage) => void,
    private readonly onHeartbeat: () => void,
    private readonly viewTs = false,
    /** Any other event (`reset`, `snapshot`), by name. */
    private readonly onEvent: (event: string) => void = () => undefined,
  ) {}

  /** The bytes of the stream after the response head and the snapshot, as they come (not kept after the call). */
  push(chunk: Buffer): void {
    const buffer = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let pos = 0;
    while (pos < buffer.length) {
      if (buffer[pos] === CR) {
        // The CRLF that ends a chunk.
        if (pos + 1 === buffer.length) break;
        pos += 2;
        continue;
      }
      const afterSize = sizeLineEnd(buffer, pos);
      if (afterSize === INCOMPLETE) break;
      if (afterSize !== NOT_A_SIZE_LINE) {
        pos = afterSize;
        continue;
      }
      const end = buffer.indexOf(FRAME_END, pos);
      if (end < 0) break;
      this.frame(buffer, pos, end);
      pos = end + 2;
    }
    // Copied: the reader may reuse the chunk's memory for its next read.
    this.rest = pos >= buffer.length ? undefined : Buffer.from(buffer.subarray(pos));
  }

  /** The frame in [start, end) (`end`: its blank line). */
  private frame(buffer: Buffer, start: number, end: number): void {
    if (buffer[start] === COLON) {
      if (holds(buffer, start, HEARTBEAT)) this.onHeartbeat();
      return;
    }
    // [id: <seq>\n] event: <type>\n data: …
    const lineEnd = buffer.indexOf(LF, start);
    const eventAt = holds(buffer, start, ID_LINE) ? lineEnd + 1 : start;
    if (!holds(buffer, eventAt, EVENT_LINE)) return;
    const typeAt = eventAt + EVENT_LINE.length;
    const live = LIVE_TYPES.find(({ line }) => holds(buffer, typeAt, line));
    if (!live) {
      this.onEvent(buffer.toString('latin1', typeAt, Math.min(end, buffer.indexOf(LF, typeAt))));
      return;
    }
    const seqAt = buffer.indexOf(SEQ, typeAt);
    if (seqAt < 0 || seqAt > end) return;
    const ms = integerAt(buffer, seqAt + SEQ.length, end);
    const n = ms && buffer[ms.end] === DASH ? integerAt(buffer, ms.end + 1, end) : undefined;
    if (!ms || !n || buffer[n.end] !== QUOTE) return;
    this.onMessage({
      seqMs: ms.value,
      seqN: n.value,
      type: live.type,
      receivedAt: this.receivedAt(buffer, n.end, end),
      viewTs: this.viewTs ? this.viewTsOf(buffer, n.end, end) : undefined,
      skipped: this.skipped(buffer, seqAt),
    });
  }

  /** `"receivedAt":<ms>`: last in a message as the api builds them (read backwards from the end), else looked for. */
  private receivedAt(buffer: Buffer, from: number, end: number): number | undefined {
    if (buffer[end - 1] === CLOSE) {
      const last = integerEndingAt(buffer, end - 2);
      if (last && holds(buffer, last.start - RECEIVED.length, RECEIVED)) return last.value;
    }
    const at = buffer.indexOf(RECEIVED, from);
    return at < 0 || at > end ? undefined : integerAt(buffer, at + RECEIVED.length, end)?.value;
  }

  private viewTsOf(buffer: Buffer, from: number, end: number): number | undefined {
    const view = buffer.indexOf(VIEW, from);
    const ts = view < 0 || view > end ? -1 : buffer.indexOf(TS, view);
    return ts < 0 || ts > end ? undefined : integerAt(buffer, ts + TS.length, end)?.value;
  }

  /** A conflated view is written as `{"skipped":n,"seq":…`. */
  private skipped(buffer: Buffer, seqAt: number): number {
    if (buffer[seqAt - 1] !== COMMA) return 0;
    const count = integerEndingAt(buffer, seqAt - 2);
    return count && holds(buffer, count.start - SKIPPED.length, SKIPPED) ? count.value : 0;
  }
}
