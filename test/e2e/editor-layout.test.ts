/**
 * The pool editor as a user first meets it: in headless Chromium at 1600×1000, an action node
 * opened, then "Add new tplink-pool" from its Pool field. Every field must be in the window: the
 * device list's "+ device" button, Timeout and Poll (oneditresize measures the config node's own
 * form, #node-config-dialog-edit-form). Then two examples imported as Import › Examples does: the
 * second reports the shared pool as a conflict, "Import copy" keeps one pool, every node valid.
 * Skips, saying why, where no Chromium is installed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flowNode, linkedUserDir, repoRoot, startNodeRed, type NodeRed } from '../helpers/nodered';
import { findChromium, openPage, type Page } from './chromium';

describe('editor in headless Chromium: the pool editor fits the window', function () {
  this.timeout(120_000);
  let red: NodeRed | undefined;
  let page: Page | undefined;
  let userDir = '';

  before(async function () {
    const chromium = findChromium();
    if (!chromium) {
      console.log('      skipped: no Chromium (apt-get install chromium, or set CHROMIUM=path)');
      this.skip();
    }
    userDir = linkedUserDir('editor');
    red = await startNodeRed({ userDir });
    await red.deploy([
      { id: 'layout-tab', type: 'tab', label: 'layout', disabled: false, info: '' },
      flowNode('tplink-action', { id: 'layout-action', z: 'layout-tab', pool: '', device: 'Desk Lamp', x: 200, y: 80, wires: [[]] }),
    ]);
    page = await openPage(chromium, 1600, 1000);
    await page.navigate(`${red.url}/`);
    await page.waitFor("!!(window.RED && RED.nodes && RED.nodes.node('layout-action') && document.querySelector('#red-ui-workspace-chart'))", 60_000);
  });

  after(async () => {
    await page?.close();
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('labels the palette category "TP-Link" (Node-RED cuts a category name at "-")', async () => {
    const label = await page!.evaluate<string>("$('#red-ui-palette-header-tplink span').first().text()");
    assert.equal(label, 'TP-Link');
  });

  it('shows "+ device", Timeout and Poll within the viewport when a new pool is opened from an action node', async () => {
    const p = page!;
    await p.evaluate("RED.editor.edit(RED.nodes.node('layout-action')); true");
    await p.waitFor("!!document.querySelector('#node-input-btn-pool-add, #node-input-lookup-pool')", 10_000);
    await new Promise((r) => setTimeout(r, 800));
    // Node-RED 4/5: the "+" beside Pool; 3.1: the pencil with "Add new tplink-pool…" selected.
    await p.evaluate(
      "$('#node-input-btn-pool-add').length ? $('#node-input-btn-pool-add').trigger('click') : $('#node-input-lookup-pool').trigger('click'); true",
    );
    await p.waitFor("!!document.querySelector('#node-config-dialog-edit-form .red-ui-editableList-addButton')", 10_000);
    await new Promise((r) => setTimeout(r, 1200));
    const geo = await p.evaluate<Record<string, { top: number; bottom: number; width: number; height: number } | null> & { vh: number }>(`(() => {
      const box = (sel) => { const e = document.querySelector(sel); if (!e) return null; const r = e.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, width: r.width, height: r.height }; };
      return {
        vh: window.innerHeight,
        add: box('#node-config-dialog-edit-form .red-ui-editableList-addButton'),
        timeout: box('#node-config-input-timeout'),
        poll: box('#node-config-input-pollInterval'),
        list: box('#node-config-dialog-edit-form .red-ui-editableList-container'),
        cols: box('#node-config-dialog-edit-form .tplink-cols'),
      };
    })()`);
    if (process.env.KASA_TAPO_SHOTS) await p.screenshot(process.env.KASA_TAPO_SHOTS);
    assert.equal(geo.vh, 1000);
    for (const k of ['add', 'timeout', 'poll', 'list', 'cols'] as const) {
      const b = geo[k];
      assert.ok(b, `${k} not found`);
      assert.ok(b.top >= 0 && b.bottom <= geo.vh, `${k} is outside the 1000 px window: ${JSON.stringify(b)}`);
    }
    assert.ok(geo.list!.height >= 120, `the device list is ${geo.list!.height} px high`);
  });

  it('adds a device row with a host field wide enough to read an address', async () => {
    const p = page!;
    await p.evaluate("$('#node-config-dialog-edit-form .red-ui-editableList-addButton').trigger('click'); true");
    await new Promise((r) => setTimeout(r, 300));
    const w = await p.evaluate<number>("document.querySelector('#node-config-dialog-edit-form .tplink-host').getBoundingClientRect().width");
    assert.ok(w >= 110, `host field ${w} px`);
    const poll = await p.evaluate<{ bottom: number }>("document.querySelector('#node-config-input-pollInterval').getBoundingClientRect().toJSON()");
    assert.ok(poll.bottom <= 1000, `Poll moved below the window after adding a row: ${poll.bottom}`);
  });

  it('imports two examples as Import › Examples does: a conflict on the shared pool, then "Import copy" keeps one pool and every node valid', async () => {
    const p = page!;
    await p.evaluate('RED.tray.close(); RED.tray.close(); true');
    await new Promise((r) => setTimeout(r, 800));
    const dir = path.join(repoRoot(), 'examples');
    const [first, second] = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .slice(0, 2)
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
    // The editor's own import: RED.view.importNodes with generateIds false, as the clipboard's importNodes calls it.
    const one = await p.evaluate<string>(
      `(() => { try { RED.view.importNodes(${first}, { generateIds: false }); return 'imported'; } catch (e) { return 'error ' + (e.code || e.message); } })()`,
    );
    assert.equal(one, 'imported');
    const two = await p.evaluate<string>(
      `(() => { try { RED.view.importNodes(${second}, { generateIds: false }); return 'imported'; } catch (e) { return 'error ' + (e.code || e.message); } })()`,
    );
    assert.equal(two, 'error import_conflict', 'the second import reports the shared pool as existing');
    // "Import copy": new ids for the example's nodes, the existing pool reused.
    await p.evaluate(`(() => { RED.view.importNodes(${second}, { generateIds: true }); return true; })()`);
    const state = await p.evaluate<{ pools: string[]; users: string[]; invalid: string[] }>(`(() => {
      const pools = RED.nodes.filterNodes({ type: 'tplink-pool' }).map((n) => n.id).concat([]);
      const all = []; RED.nodes.eachConfig((c) => { if (c.type === 'tplink-pool') all.push(c.id); });
      const ours = []; RED.nodes.eachNode((n) => { if (/^tplink-/.test(n.type) && n.id !== 'layout-action') ours.push(n); });
      return { pools: all, users: [...new Set(ours.map((n) => n.pool))], invalid: ours.filter((n) => n.valid === false).map((n) => n.type + ' ' + n.name).concat(all.map((id) => RED.nodes.node(id)).filter((n) => n.valid === false).map((n) => 'pool ' + n.name)) };
    })()`);
    assert.deepEqual(state.pools, ['kasa-tapo-home'], 'one pool after two imports');
    assert.deepEqual(state.users, ['kasa-tapo-home'], 'every TP-Link node uses it');
    assert.deepEqual(state.invalid, [], 'nodes the editor marks "not properly configured"');
  });
});
