/** Models: GPT (decoder-only LM), Encoder (+ classification / QA heads), EncoderDecoder, HF GPT-2 interop. */
export { type GPTConfig, type ResolvedGPTConfig, resolveGPTConfig, gptConfigFromJson } from './config.js';
export { GPT, type GenerateOptions, checkIds } from './gpt.js';
export { type SamplingOptions, samplingDistribution, sampleToken, argmaxRow, checkSampling } from './sampling.js';
export {
  Encoder, EncoderForSequenceClassification, EncoderForQuestionAnswering, type EncoderConfig, type ResolvedEncoderConfig,
  type EncoderCallOptions, resolveEncoderConfig,
} from './encoder.js';
export {
  EncoderDecoder, TransformerStack, type EncoderDecoderConfig, type ResolvedEncoderDecoderConfig, type DecodeOptions,
  type BeamSearchOptions, resolveEncoderDecoderConfig,
} from './encoder-decoder.js';
export { loadHFGPT2, saveHFGPT2, gptConfigFromHF, hfConfigFromGPT, gpt2StateFromHF } from './hf-gpt2.js';
