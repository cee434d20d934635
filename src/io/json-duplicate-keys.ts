/**
 * Duplicate keys in a JSON object (`"maxSteps": 20, … "maxSteps": 5`): JSON.parse keeps the last one
 * without a word, as Python's json does, so a config edited in two places trained with the value the
 * user did not look at (fresh-user trial s9, F15). Found with jsonc-parser's visitor (the parser the
 * config locator uses already), which reports each property with its line.
 */
import { visit } from 'jsonc-parser';

export interface DuplicateKey {
  /** Dotted path of the key (`data.blockSize`; array elements as their index: `layers.0.size`). */
  path: string;
  /** 1-based line of the repeated key (the one JSON.parse keeps). */
  line: number;
  /** 1-based line of its first occurrence in the same object. */
  firstLine: number;
}

/** The first key (in text order) given twice in the same object of the JSON `text`, or null. */
export function firstDuplicateKey(text: string): DuplicateKey | null {
  const objects: Map<string, number>[] = [];
  let found: DuplicateKey | null = null;
  visit(text, {
    onObjectBegin: () => { objects.push(new Map()); },
    onObjectEnd: () => { objects.pop(); },
    onObjectProperty: (key, _offset, _length, startLine, _startCharacter, pathSupplier) => {
      if (found !== null) return;
      const seen = objects[objects.length - 1];
      if (seen === undefined) return;
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, startLine + 1);
        return;
      }
      found = { path: [...pathSupplier(), key].join('.'), line: startLine + 1, firstLine: first };
    },
  });
  return found;
}
