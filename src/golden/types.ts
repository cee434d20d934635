/**
 * Types of the golden-case runner (format: ../shared/golden/README.md).
 *
 * A handler per kind (`src/golden/kinds/<kind>.ts`) turns one {@link GoldenCase} into a
 * {@link HandlerResult}; the runner compares that result with the case's `expected` / `grads`.
 */

/** One case of a golden file, as the runner hands it to a handler. */
export interface GoldenCase {
  name: string;
  kind: string;
  description?: string;
  /** Non-finite numbers already converted from the strings "NaN" / "Infinity" / "-Infinity". */
  options: Record<string, unknown>;
  /** Raw JSON (tensors as `{dtype, shape, data}`); decode with `decodeTensor` / `decodeNumber`. */
  inputs: Record<string, unknown>;
  expected?: Record<string, unknown>;
  grads?: Record<string, unknown>;
  primary_output?: string;
  grad_output?: unknown;
  /** The case's tolerance, or the file's `default_tolerance` when the case has none. */
  tolerance?: { rtol: number; atol: number };
  expected_error?: string;
  property?: boolean;
  input_spec?: Record<string, unknown>;
  checks?: Array<Record<string, unknown>>;
}

/**
 * A decoded tensor: `data` row-major (C order); float32 values rounded with `Math.fround`;
 * int64 / bool / uint16 / uint32 as numbers (bool as 1 / 0); float64 as given.
 */
export interface DecodedTensor {
  dtype: string;
  shape: number[];
  data: Float64Array;
}

/**
 * What a handler returns. Values mirror the structure of `expected` / `grads` in the case:
 * a tensor is `{shape, data: ArrayLike<number>}`; numbers, booleans, arrays and plain objects
 * nest freely. (A plain number or boolean is also accepted where `expected` has a shape-`[]` tensor.)
 */
export type GoldenValue =
  | { shape: number[]; data: ArrayLike<number> }
  | number
  | boolean
  | null
  | GoldenValue[]
  | { [k: string]: GoldenValue };

/** A handler's answer for one case. */
export interface HandlerResult {
  /** Compared against `case.expected` (every key of `case.expected` must be present). */
  expected?: Record<string, GoldenValue>;
  /** Compared against `case.grads` (every key of `case.grads` must be present). */
  grads?: Record<string, GoldenValue>;
  /**
   * Property cases (dropout) judge themselves. `name` is the case check's `check` field; every
   * check listed in the case must be reported, and all reported checks must pass.
   */
  checks?: Array<{ name: string; passed: boolean; detail?: string }>;
}

/** Runs one case. For `expected_error` cases it must throw to pass. */
export type KindHandler = (c: GoldenCase) => HandlerResult;

/** Counts for one kind. */
export interface KindSummary {
  passed: number;
  failed: number;
  skipped: number;
}

/** One failing case: where it is and its first mismatch (or the handler's exception). */
export interface GoldenFailure {
  kind: string;
  name: string;
  /** Path of the case file. */
  file: string;
  /** 1-based line of the case in its file, when it could be located. */
  line?: number;
  message: string;
}

/** What `runGoldenFolder` returns. */
export interface GoldenRunSummary {
  /** Case files read (absolute paths, sorted). */
  files: string[];
  perKind: Record<string, KindSummary>;
  passed: number;
  failed: number;
  skipped: number;
  failures: GoldenFailure[];
}
