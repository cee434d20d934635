/**
 * Decoding one token at a time, as generation prints (issue 19). A token may hold part of a
 * character (byte-level BPE splits an emoji over several tokens; hf byte-fallback tokens are single
 * bytes), and a tokenizer's decoder may treat a token differently at the start of a text (leading
 * spaces, `##` continuations). The decoder:
 * - byte-level tokenizers (`tokenBytes`): feeds the bytes to its own streaming UTF-8 decoder, which
 *   holds an incomplete character until its last byte arrives;
 * - others: decodes the pending ids after a few already-printed ids of context and prints what the
 *   pending ids added, holding it while it ends in U+FFFD (an incomplete byte-fallback sequence,
 *   for up to 4 tokens).
 * Memory stays bounded however many tokens pass through (generation may be long).
 *
 * ```ts
 * const sd = new StreamDecoder(tokenizer);
 * for (const id of ids) process.stdout.write(sd.push(id));
 * process.stdout.write(sd.flush());
 * ```
 */
import type { Tokenizer } from './types.js';

const CONTEXT = 8;
const REPLACEMENT = '\uFFFD';

export class StreamDecoder {
  private readonly bytes: TextDecoder | null;
  private context: number[] = [];
  private pending: number[] = [];

  constructor(readonly tokenizer: Tokenizer) {
    this.bytes = tokenizer.tokenBytes ? new TextDecoder('utf-8') : null;
  }

  /** The text that `id` completes (possibly '' while a character is incomplete). */
  push(id: number): string {
    if (this.bytes) return this.bytes.decode(this.tokenizer.tokenBytes!(id), { stream: true });
    this.pending.push(id);
    const piece = this.pieceOfPending();
    if (piece.endsWith(REPLACEMENT) && this.pending.length < 4) return '';
    this.commit();
    return piece;
  }

  /** Whatever is still held (an incomplete character becomes U+FFFD), and a reset. */
  flush(): string {
    if (this.bytes) return this.bytes.decode();
    const piece = this.pending.length > 0 ? this.pieceOfPending() : '';
    this.commit();
    this.context = [];
    return piece;
  }

  private pieceOfPending(): string {
    const base = this.tokenizer.decode(this.context);
    const all = this.tokenizer.decode([...this.context, ...this.pending]);
    if (all.startsWith(base)) return all.slice(base.length);
    // The decoder changed the context's text (rare): print what follows the common prefix.
    let i = 0;
    while (i < base.length && i < all.length && base[i] === all[i]) i++;
    return all.slice(i);
  }

  private commit(): void {
    this.context.push(...this.pending);
    this.pending = [];
    if (this.context.length > CONTEXT) this.context = this.context.slice(-CONTEXT);
  }
}
