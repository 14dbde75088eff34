import { Inject, Injectable } from '@nestjs/common';
import { isSeq, SEQ_ZERO, type SymbolView } from '@md/contracts';
import { REDIS, RedisKeys, type MdRedis } from '@md/redis';
import type { Snapshot } from './client';
import { fromHistory, type Published } from './published';

const PAGE = 1_000;
type Entry = [id: string, fields: string[]];

/**
 * Reads of what the publishers keep beside the channel: the latest views (a hash, written in
 * the same script as their publish) and the capped history stream whose ids are the seqs.
 */
@Injectable()
export class StreamHistory {
  constructor(
    @Inject(REDIS) private readonly redis: MdRedis,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * The latest view of every symbol and the seq they are current as of, read atomically:
   * every message up to that seq is reflected in the views, none after it.
   */
  async snapshot(): Promise<Snapshot> {
    const results = await this.redis.multi().xrevrange(this.keys.history(), '+', '-', 'COUNT', 1).hgetall(this.keys.views()).exec();
    if (!results) throw new Error('snapshot transaction aborted');
    const [[lastError, last], [viewsError, hash]] = results as [[Error | null, Entry[]], [Error | null, Record<string, string>]];
    if (lastError || viewsError) throw lastError ?? viewsError;
    const views = Object.keys(hash)
      .sort()
      .map((symbol) => JSON.parse(hash[symbol]) as SymbolView);
    return { seq: last[0]?.[0] ?? SEQ_ZERO, views };
  }

  /**
   * Every message after `seq`, in order, or undefined when they cannot all be had: `seq` is
   * malformed, unknown (never published here, or trimmed from history), or messages were
   * trimmed since (for SEQ_ZERO, "since the beginning").
   */
  async after(seq: string): Promise<Published[] | undefined> {
    if (!isSeq(seq)) return undefined;
    const key = this.keys.history();
    if (seq === SEQ_ZERO) {
      if (!(await this.neverTrimmed())) return undefined;
    } else {
      // The entry itself must still be there: trimming removes the oldest first, so then
      // everything after it is there too. (No one deletes from the middle of history.)
      const [first] = (await this.redis.xrange(key, seq, '+', 'COUNT', 1)) as Entry[];
      if (first?.[0] !== seq) return undefined;
    }
    const out: Published[] = [];
    let cursor = seq;
    for (;;) {
      const page = (await this.redis.xrange(key, `(${cursor}`, '+', 'COUNT', PAGE)) as Entry[];
      for (const [id, fields] of page) {
        const message = fromHistory(id, fields[1]);
        if (message) out.push(message);
      }
      if (page.length < PAGE) return out;
      cursor = page[page.length - 1][0];
    }
  }

  /** Whether the history stream still holds every message ever published (or none was). */
  private async neverTrimmed(): Promise<boolean> {
    let info: unknown[];
    try {
      info = (await this.redis.call('XINFO', 'STREAM', this.keys.history())) as unknown[];
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return true;
      throw error;
    }
    const field = (name: string) => info[info.indexOf(name) + 1];
    // entries-added exists from Redis 7.0; without it, there is no telling: not resumable.
    return info.includes('entries-added') && Number(field('entries-added')) === Number(field('length'));
  }
}
