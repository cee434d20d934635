/**
 * Locates the first syntax error of a JSON text (RFC 8259), because Node 20's `JSON.parse` errors
 * do not always give a position, and never a line. Used only after `JSON.parse` failed, to name the
 * line (golden case files, config files).
 */

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const STRING_CHUNK = /[^"\\\u0000-\u001f]*/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

class JsonSyntax extends Error {
  constructor(readonly offset: number) {
    super('json syntax');
  }
}

/**
 * Offset (0-based, in UTF-16 code units) of the first character where `text` stops being valid
 * JSON, or -1 when it is valid.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const expect = (ch: string): void => {
    if (text[i] !== ch) throw new JsonSyntax(i);
    i++;
  };
  const string = (): void => {
    expect('"');
    for (;;) {
      STRING_CHUNK.lastIndex = i;
      STRING_CHUNK.exec(text);
      i = STRING_CHUNK.lastIndex;
      if (text[i] === '"') {
        i++;
        return;
      }
      if (text[i] !== '\\') throw new JsonSyntax(i);
      ESCAPE.lastIndex = i;
      if (!ESCAPE.test(text)) throw new JsonSyntax(i);
      i = ESCAPE.lastIndex;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect('}');
        return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        expect(']');
        return;
      }
    }
    if (c === '"') return string();
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    throw new JsonSyntax(i);
  };
  try {
    value();
    ws();
    return i === text.length ? -1 : i;
  } catch (e) {
    if (e instanceof JsonSyntax) return e.offset;
    throw e;
  }
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

/**
 * What a text without a non-blank character holds, in words: `the file is empty` (0 bytes), `the
 * file holds only 3 blank lines`, `the file holds only whitespace`; null when it holds something.
 */
export function blankText(text: string): string | null {
  if (text.length === 0) return 'the file is empty';
  if (text.trim() !== '') return null;
  const breaks = (text.match(/\n/g) ?? []).length;
  return breaks > 0 ? `the file holds only ${breaks} blank line${breaks > 1 ? 's' : ''}` : 'the file holds only whitespace';
}

/**
 * `line:col: invalid JSON (<JSON.parse's first line, without its excerpt>)` for a text `JSON.parse`
 * refused with `err`; the caller puts the file's path in front. A blank text says what it holds
 * (`1:1: invalid JSON (the file is empty)`, `4:1: invalid JSON (the file holds only 3 blank lines)`)
 * instead of "Unexpected end of JSON input".
 */
export function invalidJsonAt(text: string, err: unknown): string {
  const blank = blankText(text);
  if (blank !== null) {
    const lc = lineCol(text, text.length);
    return `${lc.line}:${lc.col}: invalid JSON (${blank})`;
  }
  const msg = err instanceof Error ? err.message : String(err);
  const offset = jsonErrorOffset(text);
  const lc = lineCol(text, offset >= 0 ? offset : text.length);
  const firstLine = msg.split('\n')[0]!.replace(/, \.\.\.".*$|, ".*$/, '');
  return `${lc.line}:${lc.col}: invalid JSON (${firstLine})`;
}
