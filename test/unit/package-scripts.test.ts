/**
 * The CLI from a clone, as the README says: `npm install` then `npx kasa-tapo --help`. npx runs the
 * project's own bin through a link it caches on first use; with nothing built that link has no
 * bin, and npx keeps it after `npm run build`. So `npm install` / `npm ci` must build: a `prepare`
 * script (npm also runs it on `npm pack`). `.ci/run` checks `npx kasa-tapo --help` in a clean clone.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../helpers/nodered';

describe('package.json: the CLI works from a clone', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };

  it('npm install builds (a prepare script runs scripts/build.js)', () => {
    assert.equal(pkg.scripts.prepare, 'node scripts/build.js');
    assert.equal(pkg.scripts.prepack, undefined, 'prepare already runs on npm pack: no second build');
  });

  it('the build leaves the bin npx links, executable, with a node shebang', () => {
    const bin = path.join(repoRoot(), pkg.bin['kasa-tapo']!);
    assert.match(fs.readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok((fs.statSync(bin).mode & 0o111) !== 0, `${bin} is not executable`);
  });
});
