/**
 * Rendering a decode result (src/decode/index.ts) as text lines or JSON lines, written one by one.
 * The lines carry capture-controlled text as is: a terminal needs it escaped (the CLI does that).
 */
import type { DecodeResult } from './types';

/** Render a decode result as lines of text (or one JSON object per message with `json`). Never throws. */
export function formatDecoded(r: DecodeResult, opts: { json?: boolean } = {}): string[] {
  const lines: string[] = [];
  writeDecoded(r, (line) => void lines.push(line), opts);
  return lines;
}

/**
 * Write a decode result line by line (without line ends) to `write`, as formatDecoded renders it,
 * without collecting the lines. Throws only what `write` throws.
 */
export function writeDecoded(r: DecodeResult, write: (line: string) => void, opts: { json?: boolean } = {}): void {
  if (opts.json) {
    for (const m of r.messages) write(JSON.stringify({ type: 'message', ...m }));
    for (const s of r.sessions) if (!s.decrypted || s.reason) write(JSON.stringify({ type: 'session', ...s }));
    return;
  }
  for (const m of r.messages) {
    const t = new Date(m.time * 1000).toISOString().slice(11, 23);
    const arrow = m.direction === 'request' ? `${m.client} -> ${m.server}` : `${m.server} -> ${m.client}`;
    const kind = m.kind === 'klap' ? `klap-v${m.klapVersion}${m.seq !== undefined ? ` seq ${m.seq}` : ''}` : m.kind;
    write(`${t}  ${arrow}  ${kind}  ${m.direction}  ${m.text}`);
  }
  const bad = r.sessions.filter((s) => !s.decrypted || s.reason);
  if (bad.length) {
    write('');
    for (const s of bad)
      write(`${s.decrypted ? 'incomplete' : 'not decrypted'}: ${s.kind} ${s.client} -> ${s.server} (${s.messages} messages): ${s.reason ?? 'unknown'}`);
  }
  const skipped = Object.entries(r.skipped);
  if (skipped.length) write(`skipped records: ${skipped.map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if (r.messages.length === 0 && bad.length === 0) write('No Kasa/Tapo traffic found in the capture.');
}
