// eslint ignores everything git ignores: the lines of .gitignore as flat-config `ignores`
// (what @eslint/compat's includeIgnoreFile does, without the extra dependency). `npm start`
// writes .node-red/settings.js into the clone; it is git-ignored, and `npm run lint` (part of
// `npm test`) must not lint it.
import fs from 'node:fs';

/** A gitignore line as a minimatch pattern relative to the config's directory. */
export function gitignoreToMinimatch(line) {
  const negated = line.startsWith('!');
  const pattern = (negated ? line.slice(1) : line).trimEnd();
  const slash = pattern.indexOf('/');
  // No slash, or only a trailing one: the name matches at any depth.
  const anywhere = slash < 0 || slash === pattern.length - 1 ? '**/' : '';
  const body = (slash === 0 ? pattern.slice(1) : pattern).replace(/[{(]/g, '\\$&');
  return `${negated ? '!' : ''}${anywhere}${body}${pattern.endsWith('/**') ? '/*' : ''}`;
}

/** The flat-config object ignoring what the given .gitignore file lists (none if it is absent). */
export function gitignored(file) {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const ignores = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map(gitignoreToMinimatch);
  return { name: 'gitignored', ignores };
}
