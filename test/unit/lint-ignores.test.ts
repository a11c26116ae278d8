/**
 * `npm test` lints the tree first (`npm run lint`), so eslint must skip whatever git ignores: after
 * `npm start` the clone holds `.node-red/settings.js` (git-ignored), and linting it with the
 * type-checked rules failed the whole suite before mocha started. eslint.config.mjs reads
 * .gitignore (scripts/eslint-gitignore.mjs); this checks a sample path for every line of it, and
 * that tracked sources are still linted.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/nodered';

type ESLintClass = new (o: { cwd: string }) => { isPathIgnored(p: string): Promise<boolean> };

/** One file each .gitignore line covers: `dir/` → `dir/settings.js`, `*.tgz` → `x.tgz`, at the root and one level down. */
function samples(gitignore: string): string[] {
  const out: string[] = [];
  for (const raw of gitignore.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const dir = line.endsWith('/');
    const base = line.replace(/^\//, '').replace(/\/$/, '').replace(/\*/g, 'x');
    const file = dir ? `${base}/settings.js` : base;
    out.push(file);
    if (!line.replace(/\/$/, '').includes('/')) out.push(`nodes/${file}`); // no inner slash: matches at any depth
  }
  return out;
}

describe('eslint ignores what git ignores', function () {
  this.timeout(60_000);
  const root = repoRoot();
  const { ESLint } = require('eslint') as { ESLint: ESLintClass };
  const eslint = new ESLint({ cwd: root });

  it('every .gitignore line (e.g. npm start’s .node-red/settings.js) is ignored by eslint', async () => {
    const files = samples(fs.readFileSync(path.join(root, '.gitignore'), 'utf8'));
    assert.ok(files.includes('.node-red/settings.js'), files.join(', '));
    const linted: string[] = [];
    for (const f of files) if (!(await eslint.isPathIgnored(path.join(root, f)))) linted.push(f);
    assert.deepEqual(linted, [], 'git-ignored paths eslint would lint');
  });

  it('tracked sources are still linted', async () => {
    for (const f of ['src/index.ts', 'src/cli.ts', 'nodes/tplink-action.ts', 'test/unit/lint-ignores.test.ts'])
      assert.equal(await eslint.isPathIgnored(path.join(root, f)), false, f);
  });
});
