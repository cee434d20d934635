/** Errors of the stability guard. */
import { TrainformerError } from '../../errors.js';

/**
 * Training cannot go on: too many consecutive non-finite steps (NaN / Inf loss or gradients), or the
 * loss kept spiking after every rollback. The message is one line naming the step, the count and the
 * limit; the last checkpoint written before it is left as it was.
 */
export class TrainingDivergedError extends TrainformerError {
  constructor(message: string, readonly step: number) {
    super(message);
  }
}
