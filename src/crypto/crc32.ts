/** CRC-32 (IEEE, as zlib): native `zlib.crc32` where the runtime has it, else a table. Never throws. */
import * as zlib from 'node:zlib';

/** Process-wide cache: a pure lookup table, built once on first use (only where zlib.crc32 is missing). */
let table: Uint32Array | undefined;
function tableCrc(buf: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = table[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;

export function crc32(buf: Uint8Array): number {
  return native ? native(buf) >>> 0 : tableCrc(buf);
}

/** Exposed for tests: the table implementation. */
export const crc32Table = tableCrc;
