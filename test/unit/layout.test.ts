// The shape the architecture step set: no module of the library over 400 lines. The
// import direction itself is checked by `npm run lint` (scripts/eslint-layers.mjs).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('library layout', () => {
  it('no file under src/ is over 400 lines', () => {
    const files = sources(SRC);
    assert.ok(files.length > 50, `found ${files.length} files under ${SRC}`);
    const long = files.map((f) => ({ f: path.relative(SRC, f), n: fs.readFileSync(f, 'utf8').split('\n').length - 1 })).filter((x) => x.n > 400);
    assert.deepEqual(long, []);
  });
});
