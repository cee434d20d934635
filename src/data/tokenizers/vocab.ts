import { FileFormatError, IndexError, ValueError } from '../../errors.js';
import type { SpecialRole, SpecialTokenMap } from './types.js';

const ROLES: readonly SpecialRole[] = ['pad', 'unk', 'bos', 'eos', 'cls', 'sep', 'mask'];

/**
 * An id ↔ token table with special-token roles, shared by the character and word tokenizers.
 * Ids are positions in `tokens`; special tokens are ordinary entries whose roles are recorded.
 */
export class Vocab {
  readonly tokens: readonly string[];
  readonly specials: SpecialTokenMap;
  private readonly index = new Map<string, number>();
  private readonly specialIds = new Set<number>();

  /**
   * @throws ValueError on duplicate tokens or a special token missing from `tokens`.
   */
  constructor(tokens: readonly string[], specials: SpecialTokenMap) {
    this.tokens = tokens.slice();
    this.specials = { ...specials };
    tokens.forEach((t, i) => {
      if (typeof t !== 'string') throw new ValueError(`vocabulary entry ${i} must be a string, got ${typeof t}`);
      if (this.index.has(t)) throw new ValueError(`vocabulary has the token ${JSON.stringify(t)} twice (ids ${this.index.get(t)} and ${i})`);
      this.index.set(t, i);
    });
    for (const role of Object.keys(specials) as SpecialRole[]) {
      if (!ROLES.includes(role)) throw new ValueError(`unknown special-token role "${role}" (expected one of ${ROLES.join(', ')})`);
      const tok = specials[role];
      const id = tok === undefined ? undefined : this.index.get(tok);
      if (id === undefined) throw new ValueError(`special token ${role}=${JSON.stringify(tok)} is not in the vocabulary`);
      this.specialIds.add(id);
    }
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Id of the token playing `role`, or undefined. */
  roleId(role: SpecialRole): number | undefined {
    const t = this.specials[role];
    return t === undefined ? undefined : this.index.get(t);
  }

  id(token: string): number | undefined {
    return this.index.get(token);
  }

  token(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.tokens.length ? this.tokens[id] : undefined;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Maps ids to token strings for decoding.
   * @throws IndexError naming the position and value of an id outside [0, size).
   */
  tokensOf(ids: ArrayLike<number>, skipSpecial: boolean): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const t = this.token(id);
      if (t === undefined) throw new IndexError(`decode: ids[${i}] = ${id} is outside the vocabulary [0, ${this.tokens.length})`);
      if (skipSpecial && this.specialIds.has(id)) continue;
      out.push(t);
    }
    return out;
  }

  /**
   * Reads `tokens` and `specialTokens` fields of a tokenizer JSON.
   * @throws FileFormatError naming the field when they are missing or mistyped.
   */
  static fromJSON(json: Record<string, unknown>, kind: string): Vocab {
    const tokens = json.tokens;
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
      throw new FileFormatError(`${kind} tokenizer JSON: field "tokens" must be an array of strings`);
    }
    const sp = json.specialTokens ?? {};
    if (typeof sp !== 'object' || sp === null || Array.isArray(sp)) {
      throw new FileFormatError(`${kind} tokenizer JSON: field "specialTokens" must be an object of role → token`);
    }
    try {
      return new Vocab(tokens as string[], sp as SpecialTokenMap);
    } catch (e) {
      throw new FileFormatError(`${kind} tokenizer JSON: ${(e as Error).message}`);
    }
  }
}
