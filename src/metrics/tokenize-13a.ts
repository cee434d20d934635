/**
 * The `13a` tokenizer of sacreBLEU (Post 2018), equivalent to mteval-v13a.pl, the WMT standard:
 * drop `<skipped>`, join `-\n` hyphenations, unescape four HTML entities, split off punctuation and
 * symbols, split periods and commas unless they sit between digits, split a dash after a digit, and
 * collapse whitespace. Written from sacreBLEU's description and its regular expressions' meaning.
 */
import { pySplit } from './whitespace.js';

/** Symbols split off everywhere: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ / */
const SYMBOLS = /([{-~[-` -&(-+:-@/])/g;
const PERIOD_COMMA_AFTER = /([^0-9])([.,])/g;
const PERIOD_COMMA_BEFORE = /([.,])([^0-9])/g;
const DASH_AFTER_DIGIT = /([0-9])(-)/g;

/** Tokenizes one segment with 13a; the tokens are separated by single spaces. */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  s = ` ${s} `
    .replace(SYMBOLS, ' $1 ')
    .replace(PERIOD_COMMA_AFTER, '$1 $2 ')
    .replace(PERIOD_COMMA_BEFORE, ' $1 $2')
    .replace(DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(s).join(' ');
}
