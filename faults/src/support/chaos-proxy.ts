import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '@md/common';

/**
 * An HTTP proxy in front of the api for the consumers: while `chaos` is on, each
 * POST /internal/agg-update is delayed and half of them fail — some answered 500 without
 * reaching the api, some forwarded and then answered 500 anyway (the api stored the view,
 * the consumer believes it failed and retries). Everything else passes through.
 */
export class ChaosProxy {
  chaos = false;
  failed = 0;
  forwarded = 0;
  private server?: Server;

  constructor(
    private readonly target: string,
    private readonly delayMs = 300,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', async () => {
        const chaotic = this.chaos && req.url === '/internal/agg-update';
        if (chaotic) await sleep(Math.random() * this.delayMs);
        const roll = Math.random();
        if (chaotic && roll < 0.25) {
          this.failed += 1;
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"statusCode":500,"message":"chaos: not forwarded"}');
          return;
        }
        const upstream = request(`${this.target}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            this.forwarded += 1;
            if (chaotic && roll < 0.5) {
              this.failed += 1;
              res.writeHead(500, { 'content-type': 'application/json' }).end('{"statusCode":500,"message":"chaos: answer lost"}');
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
          });
        });
        upstream.on('error', () => res.writeHead(502).end());
        upstream.end(Buffer.concat(body));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
