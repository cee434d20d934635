/**
 * Shared setup of the distillation tests: a tiny word-level classification config over
 * `<dir>/train.jsonl` and `<dir>/valid.jsonl`, training through the Trainer, and reading metrics.jsonl.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTask } from '../../src/tasks/index.js';
import { parseConfig, type TrainConfigInput } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';

/** A config builder: 1 × 16 mean-pooled encoder, seed 3, no evaluation or checkpoints; `over` wins. */
export function classificationConfig(dir: string, batchSize: number) {
  return (over: Partial<TrainConfigInput> & Record<string, unknown>) => parseConfig({
    task: 'classification', seed: 3,
    data: { train: join(dir, 'train.jsonl'), validation: join(dir, 'valid.jsonl'), tokenizer: { type: 'word' }, maxLength: 8 },
    model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0, pooling: 'mean' },
    learningRate: 1e-2, perDeviceTrainBatchSize: batchSize, perDeviceEvalBatchSize: 16, numTrainEpochs: 2, loggingSteps: 1, evalStrategy: 'no', saveStrategy: 'no', disableTqdm: true,
    stability: { spikeGuard: { enabled: false } },
    ...over,
  });
}

/** The records of a run's metrics.jsonl. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const metricLines = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

/** Builds the task of `config` and trains it to the end. */
export async function trainRun(config: ReturnType<typeof parseConfig>): Promise<void> {
  const task = await createTask(config);
  await new Trainer({ config, task }).train();
}
