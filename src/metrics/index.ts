/**
 * Metrics people report for generated and extracted text: corpus BLEU (sacreBLEU's default),
 * chrF / chrF++, SQuAD v1.1 exact match and F1. Pure functions of strings.
 */
export { corpusBleu, bleuFromStats, bleuTokens, type BleuOptions, type BleuResult, type BleuTokenize, type BleuSmooth } from './bleu.js';
export { corpusChrf, chrfFromStats, chrfWords, type ChrfOptions, type ChrfResult } from './chrf.js';
export { tokenize13a } from './tokenize-13a.js';
export { normalizeAnswer, exactMatchScore, f1Score, squadMetrics } from './squad.js';
