/**
 * Summaries of the V8 CPU profiles `--cpu-prof` writes (bench --profile): self time per
 * function, and per package (node_modules/<name>, node internals, the app bundle, GC, idle).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './stats';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  seconds: number;
  idlePct: number;
  /** Shares of the busy (non-idle) time. */
  top: { selfPct: number; functionName: string; where: string }[];
  byPackage: { selfPct: number; package: string }[];
}

function area(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(idle)' || functionName === '(program)') return functionName;
  if (!url) return '(native / builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const app = /\/apps\/([^/]+)\/main\.js/.exec(url);
  if (app) return `app: ${app[1]}`;
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idle += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^.*node_modules\//, '').replace(/^.*\/apps\/([^/]+\/main\.js)$/, '$1')}:${lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const a = area(url, functionName);
    byPackage.set(a, (byPackage.get(a) ?? 0) + us);
  }
  const busy = Math.max(1, total - idle);
  const rank = (map: Map<string, number>) => [...map.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]);
  return {
    seconds: round(total / 1e6, 1),
    idlePct: round((100 * idle) / Math.max(1, total), 1),
    top: rank(byFunction)
      .slice(0, 20)
      .map(([key, us]) => {
        const [functionName, where] = key.split('\u0000');
        return { selfPct: round((100 * us) / busy, 1), functionName, where };
      }),
    byPackage: rank(byPackage)
      .slice(0, 15)
      .map(([pkg, us]) => ({ selfPct: round((100 * us) / busy, 1), package: pkg })),
  };
}

export function summarizeProfiles(dir: string): Record<string, ProfileSummary> {
  const out: Record<string, ProfileSummary> = {};
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort())
    out[file.replace(/\.cpuprofile$/, '')] = summarizeProfile(join(dir, file));
  return out;
}
