/**
 * Layer groups: named parameters grouped the way a person reads a model's depth. A name with a
 * numeric component belongs to the block it numbers (`h.3.attn.c_attn.weight` → `h.3`,
 * `encoder.layers.0.ffn.weight` → `encoder.layers.0`); any other name belongs to its module
 * (`wte.weight` → `wte`, `lnF.bias` → `lnF`; a bare `weight` stays `weight`).
 */

/** The layer group of a dotted parameter name (see the module comment). */
export function layerGroupOf(name: string): string {
  const parts = name.split('.');
  const i = parts.findIndex((p) => /^\d+$/.test(p));
  if (i >= 0) return parts.slice(0, i + 1).join('.');
  return parts.length > 1 ? parts.slice(0, -1).join('.') : name;
}

/** The block index of a group (`h.3` → 3; the last numeric component), or null for un-numbered groups. */
export function blockIndexOf(group: string): number | null {
  const parts = group.split('.');
  for (let i = parts.length - 1; i >= 0; i--) if (/^\d+$/.test(parts[i])) return Number(parts[i]);
  return null;
}

/**
 * Groups in first-appearance order with their parameter names.
 * @param names dotted parameter names in the model's order.
 */
export function groupParameters(names: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of names) {
    const g = layerGroupOf(n);
    const list = out.get(g);
    if (list) list.push(n);
    else out.set(g, [n]);
  }
  return out;
}

/**
 * The "lower layers" the vanishing check watches: numbered groups whose block index is among the
 * `count` smallest indices of their family (default: the lower half, ceil(n/2), of the blocks).
 * Gradients vanish from the output towards the input, so the lowest blocks show it first.
 * A model without numbered groups has no lower layers (nothing is checked).
 */
export function lowerLayerGroups(groups: readonly string[], count: number | null = null): string[] {
  // A family is a group's name without its index (`h`, `encoder.layers`), so an encoder-decoder's
  // stacks are each judged on their own depth.
  const families = new Map<string, number[]>();
  for (const g of groups) {
    const idx = blockIndexOf(g);
    if (idx === null) continue;
    const fam = g.slice(0, g.lastIndexOf('.'));
    const list = families.get(fam) ?? [];
    if (!list.includes(idx)) list.push(idx);
    families.set(fam, list);
  }
  const lower = new Set<string>();
  for (const [fam, idxs] of families) {
    idxs.sort((a, b) => a - b);
    const n = Math.min(idxs.length, count ?? Math.ceil(idxs.length / 2));
    for (const i of idxs.slice(0, n)) lower.add(fam === '' ? String(i) : `${fam}.${i}`);
  }
  return groups.filter((g) => lower.has(g));
}
