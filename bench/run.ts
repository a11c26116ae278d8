/**
 * `npm run bench`: every section in SECTIONS against simulated devices on loopback, in one run.
 * Prints a table per section and writes bench/results.json (gitignored). Bounded: each row stops
 * after a request count or a time limit, and no row starts after the overall deadline.
 *
 *   node dist/bench/run.js [--quick] [section ...]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHost, table, type BenchContext, type BenchRow, type BenchSection } from './lib';
import { poolSection } from './pool-section';

/** The bench, in order. Later issues add their sections here. */
export const SECTIONS: BenchSection[] = [poolSection];

const TOTAL_MS = 100_000;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const sections = SECTIONS.filter((s) => wanted.length === 0 || wanted.includes(s.name));
  const started = Date.now();
  const sims = new SimHost();
  const ctx: BenchContext = {
    sims,
    credentials: { username: 'bench@example.com', password: 'Bench-Pass-1' },
    deadline: started + TOTAL_MS,
    requests: quick ? 300 : 1500,
    rowMaxMs: quick ? 2000 : 8000,
    progress: (msg) => process.stderr.write(`  ${msg}\n`),
  };
  const results: Record<string, { title: string; rows: BenchRow[] }> = {};
  try {
    for (const s of sections) {
      console.log(`\n== ${s.name}: ${s.title}`);
      const rows = await s.run(ctx);
      results[s.name] = { title: s.title, rows };
      console.log(table(rows));
    }
  } finally {
    await sims.close();
  }
  const out = path.resolve(__dirname, '..', '..', 'bench', 'results.json');
  const doc = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    quick,
    seconds: (Date.now() - started) / 1000,
    sections: results,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\n${doc.seconds.toFixed(1)} s; results in ${path.relative(process.cwd(), out) || out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
