// Resumable state shared by the DataLoader-based tasks (classification, seq2seq, extractive QA):
// the loader's (epoch, index) position plus the model's dropout generator.
import type { DataLoaderState } from '../data/index.js';
import type * as T from '../tensor/index.js';

export interface LoaderTaskState { loader: DataLoaderState | null; model: T.GeneratorState }

interface Loader { state(): DataLoaderState; setState(s: DataLoaderState): void; readonly batchesPerEpoch: number }

export function loaderDataState(loader: Loader | null, generator: T.Generator): LoaderTaskState {
  return { loader: loader?.state() ?? null, model: generator.getState() };
}

export function setLoaderDataState(state: unknown, loader: Loader | null, generator: T.Generator): void {
  const s = state as LoaderTaskState;
  if (s.loader && loader) loader.setState(s.loader);
  generator.setState(s.model);
}

/** Fractional epoch: completed epochs plus the share of the current one. */
export function loaderEpoch(loader: Loader | null): number {
  if (!loader) return 0;
  const s = loader.state();
  return s.epoch + s.index / loader.batchesPerEpoch;
}
