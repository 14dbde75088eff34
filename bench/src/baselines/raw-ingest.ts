/**
 * Baseline `rawIngest`: a bare node:http server doing exactly the Redis work of one
 * `POST /ingest/tick` (doc/ingest.md), with nothing else: no framework, no validation beyond
 * JSON.parse, no auth, no logging, no metrics. Two round trips, as the api makes:
 *  1. the dedupe lease: SET <prefix>:dedupe:<event_id> p NX PX 6000;
 *  2. one MULTI: the BullMQ add (BullMQ's own add-job script, a `ticks` job holding this one
 *     tick, job id = jobIdFor(event_id), the api's job options), XADD to the flush buffer, XADD
 *     to the history stream + PUBLISH (one script, as the api's mdPublish), SET the dedupe key
 *     to 1 with the dedupe TTL.
 * It is the work of a lone request: the api also merges the requests that arrive together into
 * one such round (group commit), which this baseline does not, so the ratio includes that gain.
 * Answers {"event_id","status":"accepted"|"duplicate"}. Env: PORT, REDIS_URL, REDIS_PREFIX,
 * PUBSUB_CHANNEL.
 */
import { createServer } from 'node:http';
import { DEFAULT_QUEUE_NAME, MessageType } from '@md/contracts';
import { Job, Queue } from 'bullmq';
import { type ChainableCommander, Redis } from 'ioredis';
import { scriptEnv } from '../lib/env';

interface Tick {
  event_id: string;
  symbol: string;
  [field: string]: unknown;
}

/** The api's mdPublish, as a command of this connection. */
type WithPublish = ChainableCommander & { publish2(key: string, channel: string, maxLen: number, message: string): ChainableCommander };

/**
 * The api's job id of a tick: a copy of jobIdFor (libs/pipeline/src/lib/jobs.ts). That lib
 * also holds the api's Nest modules and Lua assets, which this bare baseline must not load.
 */
const jobIdFor = (eventId: string) => `@${eventId.replace(/%/g, '%25').replace(/:/g, '%3A')}`;

const JOB_OPTIONS = {
  removeOnComplete: { age: 3600, count: 10000 },
  removeOnFail: { age: 604800 },
  attempts: 8,
  backoff: { type: 'exponential', delay: 250 },
};

async function main(): Promise<void> {
  const env = scriptEnv();
  const prefix = env.redisPrefix();
  const channel = env.channel();
  const redis = new Redis(env.redisUrl(), { maxRetriesPerRequest: 1 });
  redis.defineCommand('publish2', {
    numberOfKeys: 1,
    lua: `local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'm', ARGV[3])
redis.call('PUBLISH', ARGV[1], '{"seq":"' .. id .. '",' .. string.sub(ARGV[3], 2))
return id`,
  });
  const queue = new Queue(DEFAULT_QUEUE_NAME, { connection: redis, prefix: `${prefix}:bull` });
  // BullMQ loads its scripts onto the connection it is given (the api's ingest shares its client the same way).
  const client = (await queue.client) as unknown as Redis;

  async function ingest(tick: Tick): Promise<'accepted' | 'duplicate'> {
    const dedupe = `${prefix}:dedupe:${tick.event_id}`;
    if ((await client.set(dedupe, 'p', 'PX', 6000, 'NX')) !== 'OK') return 'duplicate';
    const received = { ...tick, receivedAt: Date.now() };
    const multi = client.multi() as WithPublish;
    const jobId = jobIdFor(tick.event_id);
    const job = new Job(queue, 'ticks', { symbol: tick.symbol, ticks: [received] }, { ...JOB_OPTIONS, jobId }, jobId);
    void job.addJob(multi as unknown as Parameters<Job['addJob']>[0], { parentDependenciesKey: '' });
    multi.xadd(`${prefix}:buffer:ticks`, '*', 't', JSON.stringify(received));
    multi.publish2(`${prefix}:history:${channel}`, channel, 10000, JSON.stringify({ type: MessageType.TickReceived, ...received }));
    multi.set(dedupe, '1', 'EX', 86400);
    await multi.exec();
    return 'accepted';
  }

  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(req.url === '/health/readiness' ? 200 : 404, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const tick = JSON.parse(Buffer.concat(chunks).toString()) as Tick;
        const body = JSON.stringify({ event_id: tick.event_id, status: await ingest(tick) });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      } catch (error) {
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(error) }));
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(env.port(), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

void main();
