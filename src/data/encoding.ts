/**
 * Text files must be UTF-8 (issue 19): a JSONL or text file saved as UTF-16 (Windows "Unicode") or
 * Latin-1 used to become U+FFFD replacement characters in silence. These helpers decode strictly and
 * name the encoding a file most likely has when it is not UTF-8.
 */
import { FileFormatError } from '../errors.js';

/** File bytes (a Buffer or a Uint8Array). */
export type Bytes = ArrayLike<number>;

/**
 * The encoding the start of a file evidently has when it is not UTF-8: `UTF-16LE` / `UTF-16BE` (a
 * byte-order mark, or NUL bytes on every other position, as ASCII text in UTF-16 has), `UTF-32LE` /
 * `UTF-32BE` (their marks), else null. Bytes alone cannot tell Latin-1 from Windows-1252 or others;
 * {@link notUtf8} says "Latin-1 or Windows-1252" for a file that is simply not valid UTF-8.
 */
export function evidentEncoding(head: Bytes): string | null {
  const b = head;
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'UTF-32LE';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32BE';
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'UTF-16LE';
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'UTF-16BE';
  const n = Math.min(b.length, 1024) & ~1;
  if (n < 4) return null;
  let evenNul = 0, oddNul = 0;
  for (let i = 0; i < n; i += 2) { if (b[i] === 0) evenNul++; if (b[i + 1] === 0) oddNul++; }
  const half = n / 2;
  if (oddNul > 0.3 * half && evenNul < 0.05 * half) return 'UTF-16LE';
  if (evenNul > 0.3 * half && oddNul < 0.05 * half) return 'UTF-16BE';
  return null;
}

/** Bytes of a file's start that {@link binaryEvidence} looks at (git looks at 8,000 the same way). */
const BINARY_HEAD = 8000;

/**
 * Why the start of a file is binary data rather than text in any encoding, or null when it may be
 * text (the fresh-user trial's executable was reported as "looks like Latin-1"):
 * - a NUL byte (after the UTF-16/UTF-32 checks of {@link evidentEncoding}, whose text has them);
 * - when `notUtf8` too: more than 1% (and at least 4) control characters other than tab, line
 *   ends, form feed and escape — text in Latin-1 or Windows-1252 has next to none, compressed or
 *   executable bytes about one in ten.
 */
export function binaryEvidence(head: Bytes, notUtf8 = false): string | null {
  const n = Math.min(head.length, BINARY_HEAD);
  let controls = 0;
  for (let i = 0; i < n; i++) {
    const c = head[i];
    if (c === 0) return `a NUL byte at byte ${i}`;
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 11 && c !== 12 && c !== 13 && c !== 0x1b) || c === 0x7f) controls++;
  }
  if (notUtf8 && controls >= 4 && controls > 0.01 * n) return `${controls} control characters in its first ${n} bytes`;
  return null;
}

/** The error for a file of binary data: `<path>: not a text file (binary data: a NUL byte at byte 7)…`. */
export function notText(path: string, evidence: string): FileFormatError {
  return new FileFormatError(`${path}: not a text file (binary data: ${evidence}); give a UTF-8 text file`);
}

/**
 * The error for a file that is not UTF-8, naming the encoding it seems to have and the line when
 * known, or saying that it is not text at all (binary data).
 */
export function notUtf8(path: string, head: Bytes, line?: number): FileFormatError {
  const binary = evidentEncoding(head) === null ? binaryEvidence(head, true) : null;
  if (binary !== null) return notText(path, binary);
  const enc = evidentEncoding(head) ?? 'Latin-1 or Windows-1252';
  const at = line !== undefined ? `:${line}` : '';
  return new FileFormatError(`${path}${at}: not UTF-8 (looks like ${enc}); save it as UTF-8`);
}

/** 1-based line of byte `offset` of `bytes`. */
export function lineAt(bytes: Bytes, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 10) line++;
  return line;
}

/** The first byte offset at which `bytes` is not valid UTF-8 (a complete sequence); -1 when valid. */
export function firstInvalidUtf8(bytes: Bytes): number {
  for (let i = 0; i < bytes.length;) {
    const c = bytes[i];
    let n: number, min: number;
    if (c < 0x80) { i++; continue; } else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; } else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; } else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; } else return i;
    if (i + n >= bytes.length) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = bytes[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * Decodes a whole file's bytes as UTF-8, dropping a byte-order mark.
 * @throws FileFormatError `path:line: not UTF-8 (looks like UTF-16LE); save it as UTF-8`, or
 *   `path: not a text file (binary data: …)` for binary data (see {@link binaryEvidence}).
 */
export function decodeUtf8(path: string, bytes: Bytes): string {
  const enc = evidentEncoding(bytes);
  if (enc !== null) throw notUtf8(path, bytes, 1);
  const binary = binaryEvidence(bytes);
  if (binary !== null) throw notText(path, binary);
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes as unknown as Uint8Array);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw notUtf8(path, bytes, lineAt(bytes, Math.max(0, firstInvalidUtf8(bytes))));
  }
}
