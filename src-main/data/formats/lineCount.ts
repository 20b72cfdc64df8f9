// How many lines a text file has, counted at memchr speed before parsing, so the CSV loader can
// allocate its typed arrays once at their final size instead of growing (and copying) them.
import { open } from 'node:fs/promises';

const LF = 0x0a;
const CR = 0x0d;
const CHUNK = 1 << 20;

/** Occurrences of `byte` in `buf[0, end)`. */
function countByte(buf: Buffer, end: number, byte: number): number {
  let count = 0;
  for (let at = buf.indexOf(byte, 0); at !== -1 && at < end; at = buf.indexOf(byte, at + 1)) count++;
  return count;
}

/**
 * The number of lines: newline-ended lines plus a last line without one. Lines end with "\n" or
 * "\r\n", or with "\r" alone in a file without any "\n" (old Mac files). For a CSV of one record
 * per line this is exactly its record count; blank lines and quoted line breaks only make it larger.
 */
export async function countLines(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let lf = 0;
    let cr = 0;
    let last = -1;
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      lf += countByte(buf, bytesRead, LF);
      if (lf === 0) cr += countByte(buf, bytesRead, CR);
      last = buf[bytesRead - 1];
    }
    if (last === -1) return 0;
    const ended = lf > 0 ? lf : cr;
    const unterminated = lf > 0 ? last !== LF : last !== CR;
    return ended + (unterminated ? 1 : 0);
  } finally {
    await handle.close();
  }
}
