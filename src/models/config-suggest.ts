/**
 * "Did you mean …?" for a config field name that spells no field (issue 19): `nLayers`, `numLayers`
 * and `num_hidden_layers` name `nLayer`. The nearest name by edit distance (fastest-levenshtein),
 * compared without case, `_` or `-`; a few names other libraries use for the same field are known
 * outright. No suggestion when nothing is close.
 */
import { closest, distance } from 'fastest-levenshtein';

/** Names other libraries (Hugging Face configs, nanoGPT, fairseq) give trainformer's model fields. */
const SYNONYMS: Readonly<Record<string, string>> = {
  numlayers: 'nLayer', numhiddenlayers: 'nLayer', nlayers: 'nLayer', layers: 'nLayer', depth: 'nLayer',
  numheads: 'nHead', numattentionheads: 'nHead', nheads: 'nHead', heads: 'nHead',
  hiddensize: 'nEmbd', dmodel: 'nEmbd', embeddim: 'nEmbd', nembed: 'nEmbd', embeddingsize: 'nEmbd', width: 'nEmbd',
  intermediatesize: 'nInner', dff: 'nInner', ffndim: 'nInner',
  maxpositionembeddings: 'maxPositions', npositions: 'maxPositions', contextlength: 'blockSize', seqlen: 'blockSize', ctx: 'blockSize',
  lr: 'learningRate', batchsize: 'perDeviceTrainBatchSize', epochs: 'numTrainEpochs', steps: 'maxSteps',
  // data.augment: the names of the EDA paper (Wei & Zou 2019) for its fields.
  alphasr: 'synonymReplacement', alphari: 'randomInsertion', alphars: 'randomSwap', prd: 'randomDeletion', naug: 'numAug',
};

const squash = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');

/** The field of `valid` that `name` most likely meant, or null when none is close. */
export function suggestField(name: string, valid: readonly string[]): string | null {
  if (valid.length === 0) return null;
  const key = squash(name);
  const syn = SYNONYMS[key];
  if (syn !== undefined && valid.includes(syn)) return syn;
  const squashed = valid.map(squash);
  const best = closest(key, squashed);
  const d = distance(key, best);
  // Close: at most a third of the name's length (at least 1, at most 3 edits).
  if (d > Math.min(3, Math.max(1, Math.floor(key.length / 3)))) return null;
  return valid[squashed.indexOf(best)] ?? null;
}

/**
 * The message for a key of a config block that names none of `valid` (objective terms, schedule
 * options): `objective.cee: unknown term (did you mean objective.ce?)`, or the known names when
 * none is close.
 */
export function unknownName(parent: string, name: string, valid: readonly string[], what: string): string {
  const hint = suggestField(name, valid);
  return `${parent}.${name}: unknown ${what} (${hint === null ? `known: ${valid.join(', ')}` : `did you mean ${parent}.${hint}?`})`;
}
