/**
 * CPU and memory of the processes under test, read from /proc (Linux): CPU time from
 * /proc/<pid>/stat (utime + stime), RSS from /proc/<pid>/status, the machine's busy time from
 * /proc/stat. A phase is measured between two readings (exact CPU seconds); RSS is sampled
 * every 500 ms during it for the peak.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { round } from './stats';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function readStat(pid: number | string): { ppid: number; cpuS: number; comm: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      cpuS: (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
      comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
    };
  } catch {
    return undefined;
  }
}

function readRssMB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores). */
function machineCpuS(): { busyS: number; totalS: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const busy = user + nice + system + irq + softirq + (steal || 0);
  return { busyS: busy / CLK_TCK, totalS: (busy + idle + iowait) / CLK_TCK };
}

/** PIDs of the PostgreSQL server: the postmaster and all its children (backends, walwriter, …). */
export function postgresPids(): number[] {
  const all: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat && (stat.comm === 'postgres' || stat.comm === 'postmaster')) all.push({ pid: Number(entry), ppid: stat.ppid });
  }
  const pids = new Set(all.map((p) => p.pid));
  const roots = all.filter((p) => !pids.has(p.ppid)).map((p) => p.pid);
  return all.filter((p) => roots.includes(p.pid) || roots.includes(p.ppid)).map((p) => p.pid);
}

/** One group of processes over a phase. */
export interface ProcessUsage {
  cpuPct: number;
  cpuS: number;
  rssMaxMB: number;
  rssMB: number;
  /** Added by Bench.beginPhase for the services that expose it. */
  loopLagP99Ms?: number;
}

export interface Usage {
  seconds: number;
  processes: Record<string, ProcessUsage>;
  machine: { busyPct: number; foreignCpuPct: number };
}

/** The current pids of a group (undefined entries, e.g. a process not started yet, are skipped). */
export type PidsFn = () => (number | undefined)[];

/**
 * Watches named groups of processes. `track(name, pidsFn)`: pidsFn returns the group's current
 * pids (a group may be several processes, e.g. PostgreSQL). `begin()` starts a phase;
 * `phase.end()` answers, per group, CPU % of one core over the phase, CPU seconds, peak and
 * last RSS, plus the machine's total busy % and the part of it that none of the groups used.
 */
export class ProcSampler {
  private readonly groups = new Map<string, PidsFn>();

  track(name: string, pidsFn: PidsFn): void {
    this.groups.set(name, pidsFn);
  }

  untrack(name: string): void {
    this.groups.delete(name);
  }

  private pids(pidsFn: PidsFn): number[] {
    return pidsFn().filter((pid): pid is number => !!pid);
  }

  /**
   * CPU seconds per group, summed over every process of the group seen so far in this phase:
   * one that has exited keeps the CPU of its last reading.
   */
  private readCpu(seen: Map<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pidsFn] of this.groups) {
      for (const pid of this.pids(pidsFn)) {
        const stat = readStat(pid);
        if (stat) seen.set(`${name}:${pid}`, stat.cpuS);
      }
      out[name] = 0;
    }
    for (const [key, cpuS] of seen) {
      const name = key.slice(0, key.lastIndexOf(':'));
      if (name in out) out[name] += cpuS;
    }
    return out;
  }

  begin(): { end(): Usage } {
    const seen = new Map<string, number>();
    const startedAt = performance.now();
    const startMachine = machineCpuS();
    const startCpu = this.readCpu(seen);
    const rss = new Map<string, { max: number; last: number }>();
    const sample = () => {
      // Keeps each process's CPU reading fresh, so a process that exits during the phase counts.
      this.readCpu(seen);
      for (const [name, pidsFn] of this.groups) {
        const mb = this.pids(pidsFn).reduce((sum, pid) => sum + readRssMB(pid), 0);
        const entry = rss.get(name) ?? { max: 0, last: 0 };
        rss.set(name, { max: Math.max(entry.max, mb), last: mb || entry.last });
      }
    };
    sample();
    const timer = setInterval(sample, 500);
    return {
      end: () => {
        clearInterval(timer);
        sample();
        const seconds = (performance.now() - startedAt) / 1000;
        const endCpu = this.readCpu(seen);
        const machine = machineCpuS();
        const processes: Record<string, ProcessUsage> = {};
        let ours = 0;
        for (const name of this.groups.keys()) {
          // A process that started during the phase counts from 0; one that ended keeps its last reading.
          const cpuS = endCpu[name] - (startCpu[name] ?? 0);
          ours += cpuS;
          processes[name] = {
            cpuPct: round((100 * cpuS) / seconds, 1),
            cpuS: round(cpuS, 2),
            rssMaxMB: round(rss.get(name)?.max ?? 0, 1),
            rssMB: round(rss.get(name)?.last ?? 0, 1),
          };
        }
        const busyS = machine.busyS - startMachine.busyS;
        const totalS = machine.totalS - startMachine.totalS;
        return {
          seconds: round(seconds, 2),
          processes,
          machine: {
            busyPct: round((100 * busyS) / Math.max(totalS, 1e-9), 1),
            /** CPU % (of one core) used by processes the bench does not run: other work on the machine, a source of noise. */
            foreignCpuPct: round((100 * Math.max(0, busyS - ours)) / seconds, 1),
          },
        };
      },
    };
  }
}
