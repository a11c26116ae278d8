/**
 * The editor side, as built beside the compiled nodes: each node has its template, help
 * (Inputs/Outputs/Details with message-properties lists for the device nodes), locale strings for
 * every data-i18n key, a white SVG icon, a `version` default, and editor JavaScript that parses.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = path.join(__dirname, '../../nodes');
const NODES = ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy'];

function lookup(obj: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

describe('editor assets', () => {
  for (const n of NODES) {
    it(`${n}: template, i18n keys, help, icon, version default, parsable editor script`, () => {
      const html = fs.readFileSync(path.join(dir, `${n}.html`), 'utf8');
      assert.ok(html.includes(`<script type="text/html" data-template-name="${n}">`));
      const script = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1]!;
      assert.doesNotThrow(() => new Function('RED', '$', script));
      assert.match(script, /version: \{ value: 1 \}/);
      const strings = JSON.parse(fs.readFileSync(path.join(dir, 'locales/en-US', `${n}.json`), 'utf8')) as unknown;
      const keys = [...html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(keys.length > 3);
      for (const k of keys) assert.equal(typeof lookup(strings, k), 'string', `missing i18n key ${k}`);
      for (const m of script.matchAll(/\bt\('([a-zA-Z.]+[a-zA-Z])'[,)]/g)) assert.equal(typeof lookup(strings, `${n}.${m[1]}`), 'string', `missing ${m[1]}`);
      const help = fs.readFileSync(path.join(dir, 'locales/en-US', `${n}.html`), 'utf8');
      assert.ok(help.includes(`data-help-name="${n}"`));
      assert.match(help, /<h3>Details<\/h3>/);
      if (n !== 'tplink-pool') {
        assert.match(help, /<h3>Inputs<\/h3>[\s\S]*class="message-properties"[\s\S]*<h3>Outputs<\/h3>[\s\S]*class="message-properties"/);
        assert.ok(script.includes(`icon: '${n}.svg'`));
      }
      const svg = fs.readFileSync(path.join(dir, 'icons', `${n}.svg`), 'utf8');
      assert.match(svg, /^<svg /);
      assert.ok(/#fff/.test(svg) && !/#(?!fff)[0-9a-f]{3,6}/i.test(svg), 'white only');
    });
  }
  it('never puts the password in the editor defaults', () => {
    const html = fs.readFileSync(path.join(dir, 'tplink-pool.html'), 'utf8');
    assert.match(html, /credentials: \{\s*username: \{ type: 'text' \},\s*password: \{ type: 'password' \}\s*\}/);
    assert.ok(!/defaults: \{[^}]*password/.test(html));
  });
});
