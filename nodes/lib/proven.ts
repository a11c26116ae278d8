/**
 * Where a tplink-pool keeps what its devices proved (host → the strongest transport each completed
 * a login with; src/trust.ts) across Node-RED restarts, so that after a restart an unauthenticated
 * discovery answer still cannot move an `auto` device below it.
 *
 * Stored as JSON in the Node-RED user directory, `<userDir>/kasa-tapo/<pool id>.proven.json`
 * (written to a temporary file and renamed; at most one write in flight). Node-RED's own context
 * would forget it on every restart unless the user configured a persistent context store, which
 * the default settings do not: a protection that silently lapses is no protection. Without a user
 * directory (some test harnesses) nothing is stored and the book lives as long as the pool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProvenRoute, isValidHost, type ProvenRoute } from '../../src/index';

/** Most hosts one pool's file holds (a larger file is read up to here). */
const MAX_HOSTS = 4096;

export interface ProvenStore {
  /** What was saved for this pool; {} when nothing was, or the file is unreadable. Never throws. */
  load(): Record<string, ProvenRoute>;
  /** Save the whole book (coalesced: the last one asked for wins). Never throws; failures go to `warn`. */
  save(book: Record<string, ProvenRoute>): void;
  /** Delete the file (the pool node was deleted). Never throws. */
  remove(): void;
}

/** The store for pool `id` under `userDir`, or an in-memory one without a user directory. */
export function provenStore(userDir: unknown, id: string, warn: (text: string) => void): ProvenStore {
  if (typeof userDir !== 'string' || !userDir || !/^[\w.-]{1,64}$/.test(id)) return { load: () => ({}), save: () => undefined, remove: () => undefined };
  const dir = path.join(userDir, 'kasa-tapo');
  const file = path.join(dir, `${id}.proven.json`);
  let pending: Record<string, ProvenRoute> | undefined;
  let writing = false;
  const flush = (): void => {
    if (writing || !pending) return;
    const book = pending;
    pending = undefined;
    writing = true;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.promises
      .mkdir(dir, { recursive: true })
      .then(() => fs.promises.writeFile(tmp, JSON.stringify(book), { mode: 0o600 }))
      .then(() => fs.promises.rename(tmp, file))
      .catch((e: unknown) => warn(`could not save what the devices proved (${e instanceof Error ? e.message : String(e)})`))
      .finally(() => {
        writing = false;
        flush();
      });
  };
  return {
    load() {
      try {
        const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
        const out: Record<string, ProvenRoute> = Object.create(null) as Record<string, ProvenRoute>;
        if (!parsed || typeof parsed !== 'object') return {};
        for (const [host, r] of Object.entries(parsed).slice(0, MAX_HOSTS)) if (isValidHost(host) && isProvenRoute(r)) out[host] = r;
        return out;
      } catch {
        return {};
      }
    },
    save(book) {
      pending = book;
      flush();
    },
    remove() {
      pending = undefined;
      fs.promises.rm(file, { force: true }).catch(() => undefined);
    },
  };
}
