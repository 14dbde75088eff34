import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@md/testing';

/**
 * A PostgreSQL cluster of one scenario only (Debian's server binaries), on its own port, that
 * the scenario stops with `pg_ctl stop -m immediate` (a crash: no checkpoint, WAL replay at
 * the next start) and starts again. initdb refuses to run as root, so as root it runs as the
 * `postgres` user.
 */
export class PgCluster {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  static async create(): Promise<PgCluster> {
    const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
    const bin = versions.length ? `/usr/lib/postgresql/${versions[versions.length - 1]}/bin` : '';
    if (!bin || !existsSync(`${bin}/pg_ctl`))
      throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install -y postgresql)');
    const dir = mkdtempSync(join(tmpdir(), 'md-pg-'));
    chmodSync(dir, 0o777);
    const cluster = new PgCluster(await freePort(), dir, bin);
    cluster.run('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/market`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  start(): void {
    this.run('pg_ctl', [
      '-D',
      this.data,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`,
      'start',
    ]);
  }

  /** A crash: the server stops at once, without a checkpoint. */
  stopImmediate(): void {
    this.run('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    spawnSync(...this.command('pg_ctl', ['-D', this.data, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private command(tool: string, args: string[]): [string, string[]] {
    const path = `${this.bin}/${tool}`;
    return userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  }

  private run(tool: string, args: string[]): void {
    const [cmd, argv] = this.command(tool, args);
    execFileSync(cmd, argv, { stdio: 'pipe' });
  }
}
