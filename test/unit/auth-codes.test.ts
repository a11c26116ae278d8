// One SMART auth-code table (src/transports/http.ts SMART_AUTH_CODES): the codes
// docs/protocols.md#smart-error-codes lists as EAUTH, used by the SMART protocol and the AES login,
// and no second copy of it anywhere in src/ (the simulator, a device, keeps its own codes).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HINTS } from '../../src/errors';
import { smartError } from '../../src/protocols/smart';
import { SMART_AUTH_CODES } from '../../src/transports/http';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'simulator' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('SMART auth codes: one table', () => {
  it('is the EAUTH row of docs/protocols.md (SMART error codes)', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'protocols.md'), 'utf8');
    const row = doc.split('\n').find((l) => /^\| -?\d/.test(l) && l.includes('| `EAUTH` |'));
    assert.ok(row, 'the EAUTH row');
    const codes = row
      .split('|')[1]!
      .split(',')
      .map((c) => Number(c.trim()));
    assert.deepEqual([...codes].sort(), [...SMART_AUTH_CODES].sort());
  });

  it('every code in it is EAUTH with the credentials hint in a SMART answer', () => {
    for (const code of SMART_AUTH_CODES) {
      const e = smartError(code, 'get_device_info');
      assert.equal(e.code, 'EAUTH', String(code));
      assert.equal(e.hint, HINTS.auth);
    }
  });

  it('no other module of src/ keeps its own set of these codes', () => {
    const copies = sources(path.join(ROOT, 'src'))
      .filter((f) => /new Set\(\[[^\]]*\b1111\b/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(ROOT, f).replace(/\\/g, '/'));
    assert.deepEqual(copies, ['src/transports/http.ts']);
  });
});
