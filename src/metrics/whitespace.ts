/**
 * Python's notion of whitespace (`str.split()` with no argument, `str.isspace()`), which the
 * reference metric implementations (sacreBLEU, the SQuAD v1.1 script) split on. JavaScript's `\s`
 * differs: it counts U+FEFF and misses U+001C–U+001F and U+0085.
 */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const SPLIT = new RegExp(`[${PY_WS}]+`);
const TRAILING = new RegExp(`[${PY_WS}]+$`);

/** Python's `s.split()`: the non-empty runs between whitespace. */
export function pySplit(s: string): string[] {
  const parts = s.split(SPLIT);
  let a = 0, b = parts.length;
  if (b > 0 && parts[0] === '') a = 1;
  if (b > a && parts[b - 1] === '') b--;
  return a === 0 && b === parts.length ? parts : parts.slice(a, b);
}

/** Python's `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(TRAILING, '');
}
