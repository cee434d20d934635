/**
 * Every error trainformer throws on bad input is a `TrainformerError` (or subclass), with a message
 * that names the argument, the expected and actual shape or value, and for files the path and line.
 */
export class TrainformerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit together (matmul, broadcast, concat, loss inputs). */
export class ShapeError extends TrainformerError {}
/** An argument or option outside its allowed range or of the wrong kind. */
export class ValueError extends TrainformerError {}
/** An index outside the dimension it indexes (gather, embedding, class targets). */
export class IndexError extends TrainformerError {}
/** Autograd misuse: backward through a freed graph, non-scalar backward without a gradient. */
export class AutogradError extends TrainformerError {}
/** A file that cannot be read or parsed; the message names the path (and line where there is one). */
export class FileFormatError extends TrainformerError {}
/** A configuration field with a bad value; the message names the field. */
export class ConfigError extends TrainformerError {
  /**
   * @param field the field's path in the config (`['model', 'nLayers']`), where the error is about
   *   one field: lets a caller that knows the file name the line (cli/config-file.ts).
   */
  constructor(message: string, readonly field?: readonly (string | number)[]) {
    super(message);
  }

  /**
   * Further problems of the same kind found in the same pass (every unknown field of a config,
   * not only the first): the CLI prints each as its own `config error:` line after this one.
   */
  more: ConfigError[] = [];
}
/**
 * A failure of distributed training: a collective that failed or passed its deadline (a rank died
 * or hung), or ranks that disagree on config, model or version. The message names the rank.
 */
export class DistributedError extends TrainformerError {}

/**
 * `noun` after its indefinite article, for messages: `an array`, `an unk token`, `a number`. Chosen
 * by the first letter, which is right for the lower-case words messages put here (type names such as
 * zod's, special-token roles); a noun said with a consonant sound despite its letter needs its own text.
 */
export function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** Formats a shape as `[2, 3]` for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
