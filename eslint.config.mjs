// ESLint: typescript-eslint's type-checked rules for the whole tree, and the layer rules of
// docs/architecture.md#layers as import zones. A layer imports only layers below it:
//
//   types, errors, json, defaults  <  crypto, wire  <  transports  <  protocols  <  device
//   <  discovery  <  connect  <  pool  <  index, cli
//
// and the simulator imports only crypto, wire, json, errors and types (it is a device, not a
// client). nodes/ reach the library through its public entry points (src/index, src/pool).
// A back-pointing import fails `npm run lint` (part of `npm test`): see scripts/eslint-layers.mjs.
// Whatever git ignores is not linted either (scripts/eslint-gitignore.mjs): `npm start` writes
// .node-red/settings.js into the clone.
import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/eslint-layers.mjs';
import { gitignored } from './scripts/eslint-gitignore.mjs';

export default tseslint.config(
  gitignored(path.join(import.meta.dirname, '.gitignore')),
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'scripts/**', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `async` marks functions that must never throw synchronously (close(): "never rejects"),
      // whether or not they await: not a finding.
      '@typescript-eslint/require-await': 'off',
      // Node-RED's own idiom: `const node = this` inside a node constructor.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node', 'core'] }],
    },
  },
  // ---- The layer rules (import zones, scripts/eslint-layers.mjs) ----
  { files: ['src/**/*.ts', 'nodes/**/*.ts'], plugins: { layers }, rules: { 'layers/no-upward-import': 'error' } },
  // ---- Tests and benchmarks: mocha's loose typing of assertions on device JSON ----
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests load Node-RED and its helper with require(), hand bound methods to assert.rejects,
      // build editor code with new Function and print odd values on purpose.
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-implied-eval': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
);
