// No module-level mutable state in src/ (docs/architecture.md), except documented caches and
// resources: each module-level `let`, each module-level collection that starts empty or that its
// module changes, and each module-level instance of a class is listed here only when a comment
// right above it (in the same block of lines) starts with `Process-wide cache:` or
// `Process-wide resource:` and says why. Constant lookup tables (`new Set([...])` never changed)
// pass. The simulator (src/simulator/, a device, not the library) is left out.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');
const MARK = /Process-wide (cache|resource):/;
const DECL = /^(?:export )?(let|const|var) (\w+)\b(.*)$/;
const MUTATES = (name: string): RegExp => new RegExp(`\\b${name}\\.(add|set|delete|clear|push|pop|shift|unshift|splice)\\(|\\b${name}(\\[[^\\]]*\\])? = `);

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'simulator' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The module-level declarations of `text` that hold mutable state: `name (line n)`. */
export function moduleState(text: string): { name: string; line: number; documented: boolean }[] {
  const lines = text.split('\n');
  const out: { name: string; line: number; documented: boolean }[] = [];
  lines.forEach((l, i) => {
    const m = DECL.exec(l); // module level: prettier puts these at column 0
    if (!m) return;
    const [, kind, name, rest] = m as unknown as [string, string, string, string];
    // The initializer: after ` = ` (a type's `=>` is no match), or on the next line.
    const eq = / =(?!>) ?/.exec(rest);
    const init = eq ? rest.slice(eq.index + eq[0].length).trim() || (lines[i + 1] ?? '').trim() : '';
    const collection = /^new (Map|Set|WeakMap|WeakSet)\b/.exec(init);
    const instance = /^new \w+/.test(init) && !collection;
    const empty = /^(\[\]|\{\});?$/.test(init) || (collection !== null && /\(\)?;?$/.test(init) && !/\(\[/.test(init));
    const changed = (collection !== null || /^[[{]/.test(init)) && lines.some((x, j) => j !== i && MUTATES(name).test(x));
    if (kind === 'const' && !instance && !empty && !changed) return;
    let documented = false;
    for (let j = i; j >= 0 && j > i - 40 && lines[j]!.trim() !== ''; j--) if (MARK.test(lines[j]!)) documented = true;
    out.push({ name, line: i + 1, documented });
  });
  return out;
}

describe('module-level state', () => {
  it('finds what it should in a sample (so the scan below is not empty by mistake)', () => {
    const sample = [
      'const LOOKUP = new Set([1, 2]);',
      'const filled = new Set([1]);',
      'export function f(): void { filled.add(3); }',
      '',
      'let counter = 0;',
      'const cache = new Map<string, number>();',
      '',
      '/** Process-wide cache: documented. */',
      'const ok = new WeakMap<object, string>();',
      'const store = new KeyStore();',
      '',
      'const queue: number[] = [];',
      'const turns: Array<() => void> = [];',
      'let unset: number | undefined;',
      'const later: Map<string, number> =',
      '  new Map();',
      'const fixed: Readonly<Record<string, number>> = { a: 1 };',
    ].join('\n');
    const found = moduleState(sample).map((x) => `${x.name}${x.documented ? '+' : ''}`);
    assert.deepEqual(found, ['filled', 'counter', 'cache', 'ok+', 'store+', 'queue', 'turns', 'unset', 'later']);
  });

  it('in src/ (not the simulator), every one is a documented process-wide cache or resource', () => {
    const files = sources(SRC);
    assert.ok(files.length > 50, `found ${files.length} files under ${SRC}`);
    const all = files.flatMap((f) => moduleState(fs.readFileSync(f, 'utf8')).map((x) => ({ ...x, file: path.relative(SRC, f).replace(/\\/g, '/') })));
    assert.ok(all.length > 3, 'the known caches and resources are found');
    const undocumented = all.filter((x) => !x.documented).map((x) => `${x.file}:${x.line} ${x.name}`);
    assert.deepEqual(undocumented, [], 'add a comment starting "Process-wide cache:" or "Process-wide resource:" saying why, or move it into an instance');
  });
});
