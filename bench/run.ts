/**
 * `npm run bench`: every section in SECTIONS against simulated devices on loopback, in one run.
 * Prints a table per section, then a markdown summary of the headline figures next to their
 * targets, and writes bench/results.json (gitignored). Bounded: each row stops after a request
 * count or a time limit, and no row starts after the overall deadline.
 *
 *   node dist/bench/run.js [--quick] [options] [section ...]
 *
 * Options narrow the run while iterating on one figure (the summary then holds only those rows):
 *   --transport xor,klap,aes   pool, nodered: only these transports
 *   --conc 10,50               pool, nodered: only these concurrency levels
 *   --devices 1000             scale: only fleets of this size
 *   --no-floor                 scale: skip the floor rows (the ratio to the floor is then absent)
 *   --seconds 20               scale: poll this long per row
 *   --rounds 5                 pool, nodered: alternating rounds per row
 *   --profile DIR              scale: write a CPU profile of each polling window to DIR;
 *                              nodered: a CPU profile of the Node-RED host process
 * e.g. `node dist/bench/run.js scale --devices 1000 --no-floor --seconds 30`.
 *
 * Sections: pool (floors and pooled throughput, issue items 1-2), handshakes (3), eventloop (4),
 * scale (5), nodered (6), discovery (7), tpap.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverySection } from './discovery-section';
import { eventLoopSection } from './eventloop-section';
import { handshakeSection } from './handshake-section';
import { SimHost, repoRoot, summaryMarkdown, table, type BenchContext, type BenchFilter, type BenchRow, type BenchSection, type SummaryItem } from './lib';
import { noderedSection } from './nodered-section';
import { poolSection } from './pool-section';
import { scaleSection } from './scale-section';
import { tpapSection } from './tpap-section';

/** The bench, in order. */
export const SECTIONS: BenchSection[] = [poolSection, handshakeSection, eventLoopSection, scaleSection, noderedSection, discoverySection, tpapSection];

/** No row starts after this much time (the scale section's fixed runs are sized to fit). */
const TOTAL_MS = { full: 480_000, quick: 150_000 };

/** Split options (`--name value` or `--name=value`; flags without a value) from section names. Throws on an unknown option. */
function parseArgs(argv: string[]): { quick: boolean; only: BenchFilter; sections: string[] } {
  const only: BenchFilter = {};
  const sections: string[] = [];
  let quick = false;
  const list = (v: string | undefined): string[] => (v ?? '').split(',').filter(Boolean);
  const nums = (v: string | undefined): number[] => list(v).map(Number);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      sections.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (name === 'quick') quick = true;
    else if (name === 'no-floor') only.noFloor = true;
    else if (name === 'transport') only.transports = list(value());
    else if (name === 'conc') only.conc = nums(value());
    else if (name === 'devices') only.devices = nums(value());
    else if (name === 'seconds') only.seconds = Number(value());
    else if (name === 'rounds') only.rounds = Number(value());
    else if (name === 'profile') only.profileDir = value();
    else throw new Error(`unknown option --${name}`);
  }
  return { quick, only, sections };
}

async function main(): Promise<void> {
  const { quick, only, sections: wanted } = parseArgs(process.argv.slice(2));
  const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
  if (unknown.length) throw new Error(`unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const sections = SECTIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name));
  const started = Date.now();
  const sims = new SimHost();
  const summary: SummaryItem[] = [];
  let current = '';
  const ctx: BenchContext = {
    sims,
    credentials: { username: 'bench@example.com', password: 'Bench-Pass-1' },
    quick,
    deadline: started + (quick ? TOTAL_MS.quick : TOTAL_MS.full),
    requests: quick ? 300 : 1500,
    rowMaxMs: quick ? 2000 : 8000,
    summary: (item) => void summary.push({ section: current, ...item }),
    progress: (msg) => process.stderr.write(`  ${msg}\n`),
    only,
  };
  const results: Record<string, { title: string; seconds: number; rows: BenchRow[]; error?: string }> = {};
  try {
    for (const s of sections) {
      current = s.name;
      console.log(`\n== ${s.name}: ${s.title}`);
      const t0 = Date.now();
      try {
        const rows = await s.run(ctx);
        results[s.name] = { title: s.title, seconds: (Date.now() - t0) / 1000, rows };
        console.log(table(rows));
      } catch (e) {
        // One broken section must not lose the others' figures.
        const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        results[s.name] = { title: s.title, seconds: (Date.now() - t0) / 1000, rows: [], error };
        console.log(`section ${s.name} failed: ${error}`);
        summary.push({ section: s.name, metric: 'section ran', value: 'failed', target: 'runs', met: false });
        process.exitCode = 1;
      }
    }
  } finally {
    await sims.close();
  }
  const root = repoRoot();
  const out = path.join(root, 'bench', 'results.json');
  const doc = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    loadavg: os.loadavg().map((l) => Number(l.toFixed(2))),
    quick,
    seconds: (Date.now() - started) / 1000,
    summary,
    sections: results,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  const met = summary.filter((s) => s.met === true).length;
  const judged = summary.filter((s) => s.met !== undefined).length;
  console.log(`\n== summary (${met} of ${judged} targets met; ${doc.cores} cores, ${doc.cpu}, Node ${doc.node}, load ${doc.loadavg.join(' ')})\n`);
  console.log(summaryMarkdown(summary));
  console.log(`\n${doc.seconds.toFixed(1)} s${quick ? ' (--quick)' : ''}; results in ${path.relative(process.cwd(), out) || out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
