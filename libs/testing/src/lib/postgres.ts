import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Client } from 'pg';

export const PG_BASE_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database of one test run only (on the server of `baseUrl`); `drop` removes it (connections included). */
export async function createDatabase(
  baseUrl = PG_BASE_URL,
): Promise<{ name: string; url: string; query: Client['query']; drop(): Promise<void> }> {
  const name = `it_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    name,
    url: url.toString(),
    query: client.query.bind(client) as Client['query'],
    async drop() {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * A TCP proxy to a server (Postgres here) that a test can close and reopen on the same port:
 * closed, connections are refused and the open ones cut, as when the server is down.
 */
export class TcpProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async create(target: { host: string; port: number }, port: number): Promise<TcpProxy> {
    return new TcpProxy(port, target);
  }

  open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => this.server?.listen(this.port, '127.0.0.1', () => resolve()));
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
