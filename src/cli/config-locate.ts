/**
 * The line of a config field in its JSON file (issue 19: errors name field, file and line), found in
 * the file's syntax tree (jsonc-parser) rather than by searching the text. A key matches a field
 * spelled the schema's way or as an alias that camelCases to it (`n_embd` → `nEmbd`).
 */
import { parseTree, type Node } from 'jsonc-parser';
import { camelCase } from '../train/config-names.js';

/**
 * 1-based line of `field` (its key, or the deepest part of the path found) in JSON `text`; null when absent.
 * @param exact only the field's own key counts (null when a part of the path is missing).
 */
export function lineOfField(text: string, field: readonly (string | number)[], exact = false): number | null {
  const root = parseTree(text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text);
  if (!root) return null;
  let node: Node | undefined = root;
  let offset: number | null = null;
  for (const part of field) {
    if (node?.type === 'object') {
      const prop: Node | undefined = node.children?.find((p) => {
        const k = p.children?.[0]?.value;
        return typeof k === 'string' && (k === part || camelCase(k) === part);
      });
      if (!prop) { if (exact) return null; break; }
      offset = prop.offset;
      node = prop.children?.[1];
    } else if (node?.type === 'array' && typeof part === 'number') {
      node = node.children?.[part];
      if (!node) { if (exact) return null; break; }
      offset = node.offset;
    } else { if (exact) return null; break; }
  }
  if (offset === null) return null;
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
