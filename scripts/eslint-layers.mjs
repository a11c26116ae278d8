// A local ESLint rule: the layer rules of docs/architecture.md#layers as import zones, checked on resolved paths.
// Each part of src/ has a rank; a module may import only modules of its own rank or below. The
// simulator (a device, not a client) may import only crypto, wire, json, errors, types and itself.
// nodes/ may import from src/ only the public entry points (src/index, src/pool).
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** [rank, name] of a path under src/ (without extension), or undefined outside src/. */
function layerOf(abs) {
  const rel = path.relative(SRC, abs).split(path.sep);
  if (rel[0] === '..' || rel[0] === '') return undefined;
  const top = rel.length === 1 ? rel[0].replace(/\.(ts|js)$/, '') : rel[0];
  const RANKS = {
    types: 0,
    errors: 0,
    json: 0,
    defaults: 0,
    fixes: 0,
    sleep: 0,
    crypto: 1,
    wire: 1,
    trust: 1,
    transports: 2,
    protocols: 3,
    device: 4,
    discovery: 5,
    wake: 5,
    connect: 6,
    routes: 6,
    pool: 7,
    tddp: 7,
    cloud: 7,
    decode: 7,
    simulator: 8,
    cli: 9,
    'cli-toolkit': 9,
    'cli-format': 9,
    index: 9,
  };
  return top in RANKS ? [RANKS[top], top] : [99, top];
}

const SIMULATOR_MAY_USE = new Set(['crypto', 'wire', 'json', 'errors', 'fixes', 'types', 'simulator']);

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layers of docs/architecture.md#layers (no back-pointing import)' },
    schema: [],
    messages: {
      upward: '{{from}} (layer {{fromRank}}) may not import {{to}} (layer {{toRank}}): imports point down the layers of docs/architecture.md#layers',
      simulator: 'The simulator imports only crypto, wire, json, errors and types, not {{to}}',
      nodes: 'nodes/ use the library through src/index (or src/pool) only, not src/{{to}}',
    },
  },
  create(context) {
    const file = context.filename;
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const to = layerOf(target);
      if (!to) return;
      const relTarget = path.relative(SRC, target).replace(/\\/g, '/');
      if (path.relative(path.join(ROOT, 'nodes'), file).split(path.sep)[0] !== '..') {
        if (relTarget !== 'index' && relTarget !== 'pool' && relTarget !== 'pool/index') context.report({ node, messageId: 'nodes', data: { to: relTarget } });
        return;
      }
      const from = layerOf(file);
      if (!from) return;
      if (from[1] === 'simulator') {
        if (!SIMULATOR_MAY_USE.has(to[1])) context.report({ node, messageId: 'simulator', data: { to: relTarget } });
        return;
      }
      if (to[0] > from[0]) {
        context.report({
          node,
          messageId: 'upward',
          data: { from: path.relative(SRC, file).replace(/\\/g, '/'), fromRank: String(from[0]), to: relTarget, toRank: String(to[0]) },
        });
      }
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default { rules: { 'no-upward-import': rule } };
