/**
 * RFC 9562 UUIDv7 event ids: unique across processes (62 random bits from node:crypto) and
 * ordered within this process — the strings sort in the order they were generated, because
 * rand_a is a 12-bit counter (RFC 9562 §6.2, method 1) and the timestamp never goes backwards.
 *
 * Layout: 48-bit unix ms | ver 0111 | 12-bit counter | var 10 | 62 random bits.
 * The counter restarts at 0 in each new millisecond. If the clock goes backwards, the last
 * timestamp is kept and the counter goes on; when the counter overflows (more than 4096 ids in
 * one millisecond) the timestamp is moved one millisecond ahead, as §6.2 allows.
 */
import { randomFillSync } from 'node:crypto';

const MAX_TIMESTAMP = 2 ** 48 - 1;
const MAX_COUNTER = 0xfff;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Random bytes are drawn in blocks: one syscall per 512 ids instead of one per id. */
const pool = Buffer.alloc(8 * 512);
let poolOffset = pool.length;

let lastMs = -1;
let counter = 0;

export function uuidv7(nowMs: number): string {
  if (!Number.isFinite(nowMs) || nowMs < 0 || nowMs > MAX_TIMESTAMP) {
    throw new RangeError(`nowMs must be a time in [0, 2^48) ms, got ${nowMs}`);
  }
  const ms = Math.floor(nowMs);
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else if (counter < MAX_COUNTER) {
    counter++;
  } else {
    if (lastMs >= MAX_TIMESTAMP) throw new RangeError('uuidv7: timestamp space exhausted');
    lastMs++;
    counter = 0;
  }

  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += 8;

  const ts = lastMs.toString(16).padStart(12, '0');
  return (
    `${ts.slice(0, 8)}-${ts.slice(8, 12)}-` +
    `7${counter.toString(16).padStart(3, '0')}-` +
    `${HEX[0x80 | (pool[r] & 0x3f)]}${HEX[pool[r + 1]]}-` +
    `${HEX[pool[r + 2]]}${HEX[pool[r + 3]]}${HEX[pool[r + 4]]}${HEX[pool[r + 5]]}${HEX[pool[r + 6]]}${HEX[pool[r + 7]]}`
  );
}
