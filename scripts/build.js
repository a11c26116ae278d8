#!/usr/bin/env node
// Build: compile TypeScript into dist/, then copy the Node-RED assets (editor HTML, locales,
// icons) beside the compiled nodes, where Node-RED looks for them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const r = spawnSync(process.execPath, [tsc, '-p', root], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);

function copyDir(from, to, filter) {
  if (!fs.existsSync(from)) return;
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const s = path.join(from, e.name);
    const d = path.join(to, e.name);
    if (e.isDirectory()) copyDir(s, d, filter);
    else if (!filter || filter(e.name)) fs.copyFileSync(s, d);
  }
}
const outNodes = path.join(dist, 'nodes');
copyDir(path.join(root, 'nodes'), outNodes, (n) => n.endsWith('.html') || n.endsWith('.json'));
copyDir(path.join(root, 'icons'), path.join(outNodes, 'icons'));

const cli = path.join(dist, 'src', 'cli.js');
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
