/**
 * Summarizes a V8 .cpuprofile (from node --cpu-prof): the functions with the most self time,
 * and self time grouped by where the code lives (our src, each npm package, Node internals).
 *
 *   node dist/scripts/bench/profile-summary.js <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const clean = url.replace(/^file:\/\//, '');
  const modules = clean.lastIndexOf('node_modules/');
  if (modules >= 0) return clean.slice(modules + 'node_modules/'.length);
  const dist = clean.indexOf('/dist/');
  if (dist >= 0) return clean.slice(dist + 1);
  return clean.startsWith('node:') ? clean : path.basename(clean);
}

/** Where a function lives: "src", an npm package name, "node" internals, or "native/VM". */
function area(url: string): string {
  const clean = url.replace(/^file:\/\//, '');
  const modules = clean.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = clean.slice(modules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (clean.includes('/dist/src/') || clean.includes('/src/')) return 'src (taskforge)';
  if (clean.startsWith('node:') || clean === '') return clean ? 'node internals' : 'native/VM';
  return 'other';
}

const pct = (part: number, whole: number) => `${((100 * part) / Math.max(whole, 1)).toFixed(1)}%`.padStart(6);

export function summarizeProfile(file: string, { top = 25 } = {}): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is how long the sample i stayed current.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let gc = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(garbage collector)') gc += us;
    const key = url ? `${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}` : functionName || '(anonymous)';
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const where = functionName === '(garbage collector)' ? 'GC' : functionName === '(program)' ? '(program: VM, native)' : area(url);
    byArea.set(where, (byArea.get(where) ?? 0) + us);
  }
  const busy = total - idle;
  const lines = [
    `sampled ${(total / 1e6).toFixed(1)}s: busy ${pct(busy, total).trim()} of it, GC ${pct(gc, busy).trim()} of busy time`,
    '',
    `self time (share of busy) — top ${top} functions:`,
    ...[...byFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `  ${pct(us, busy)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`),
    '',
    'self time by area:',
    ...[...byArea].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([name, us]) => `  ${pct(us, busy)}  ${name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node dist/scripts/bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(file, { top: top ? Number(top) : 25 }));
}
