/**
 * TensorBoard event files (`reportTo: ["tensorboard"]`): every numeric series of metrics.jsonl as a
 * scalar, so that `tensorboard --logdir <loggingDir>` shows the run.
 *
 * Format, as TensorBoard reads it (tensorflow/core/util/event.proto, TFRecord framing): a file
 * `events.out.tfevents.<unix seconds>.<host>` of records, each
 *   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes | data | uint32 masked CRC32C of data
 * with mask(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 (mod 2^32). The first record is an
 * `Event { wall_time, file_version: "brain.Event:2" }`; each metrics line becomes one
 * `Event { wall_time (seconds), step, summary { value { tag, simple_value } … } }`. The protobuf
 * encoding is protobufjs's, CRC32C is @node-rs/crc32's.
 *
 * Tags: `<split>/<field>` for train and eval lines (`train/loss`, `train/terms/ce`, `eval/perplexity`),
 * `layers/<name>/<field>` for per-layer statistics, `<type or event>/<field>` for other lines; nested
 * objects add `/<key>`, arrays `/<name or index>`. `step` and `time` are not series.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, existsSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { crc32c } from '@node-rs/crc32';
import type { TrainerCallback } from '../train/callbacks.js';

const PROTO = `
syntax = "proto3";
package tensorboard;
message SummaryValue { string tag = 1; float simple_value = 2; }
message Summary { repeated SummaryValue value = 1; }
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; Summary summary = 5; }
}
`;

let eventType: protobuf.Type | undefined;
function Event(): protobuf.Type {
  eventType ??= protobuf.parse(PROTO, { keepCase: true }).root.lookupType('tensorboard.Event');
  return eventType;
}

/** TFRecord's masked CRC32C. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) >>> 0;
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its CRC, the data, its CRC. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Appends events to one event file. */
export class EventFileWriter {
  readonly path: string;
  private fd: number;

  /** Creates `logDir` and a new event file in it (first record: the file version). */
  constructor(logDir: string, wallTime = Date.now() / 1000) {
    mkdirSync(logDir, { recursive: true });
    this.path = join(logDir, `events.out.tfevents.${Math.floor(wallTime)}.${hostname()}.${process.pid}`);
    this.fd = openSync(this.path, 'a');
    this.write({ wall_time: wallTime, file_version: 'brain.Event:2' });
  }

  private write(event: Record<string, unknown>): void {
    const E = Event();
    writeSync(this.fd, tfRecord(E.encode(E.fromObject(event)).finish()));
  }

  /** One event with a scalar per `[tag, value]` at `step` (wall time in seconds). */
  addScalars(step: number, wallTime: number, values: Array<[string, number]>): void {
    if (values.length === 0) return;
    this.write({ wall_time: wallTime, step, summary: { value: values.map(([tag, v]) => ({ tag, simple_value: v })) } });
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }
}

function flatten(v: unknown, tag: string, out: Array<[string, number]>): void {
  if (typeof v === 'number') out.push([tag, v]);
  else if (Array.isArray(v)) {
    v.forEach((e, i) => {
      const name = e !== null && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string' ? (e as { name: string }).name : String(i);
      flatten(e, `${tag}/${name}`, out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) flatten(x, `${tag}/${k}`, out);
  }
}

/**
 * The scalars of one metrics.jsonl record (see the file comment for the tags), or null for a line
 * without an integer `step`.
 */
export function scalarsOfRecord(rec: Record<string, unknown>): { step: number; wallTime: number; values: Array<[string, number]> } | null {
  const step = rec.step;
  if (typeof step !== 'number' || !Number.isInteger(step)) return null;
  const prefix = typeof rec.split === 'string' ? rec.split : typeof rec.type === 'string' ? rec.type : typeof rec.event === 'string' ? rec.event : 'metrics';
  const values: Array<[string, number]> = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'step' || k === 'time' || k === 'split' || k === 'type' || k === 'event') continue;
    flatten(v, k === prefix ? prefix : `${prefix}/${k}`, values); // {type: 'layers', layers: [...]} → layers/<name>/…
  }
  const wallTime = typeof rec.time === 'number' ? rec.time / 1000 : Date.now() / 1000;
  return { step, wallTime, values };
}

/** Hugging Face's default logging_dir: `<outputDir>/runs/<Mon DD_HH-MM-SS>_<host>`. */
export function defaultLoggingDir(outputDir: string, now = new Date()): string {
  const mon = now.toLocaleString('en-US', { month: 'short' });
  const p = (n: number) => String(n).padStart(2, '0');
  return join(outputDir, 'runs', `${mon}${p(now.getDate())}_${p(now.getHours())}-${p(now.getMinutes())}-${p(now.getSeconds())}_${hostname()}`);
}

/**
 * A Trainer callback that follows `<outputDir>/metrics.jsonl` and writes each new line's numeric
 * series to a TensorBoard event file (after every log, evaluation, checkpoint and at the end). A
 * resumed run writes a new event file with the lines from the resume on.
 */
export class TensorBoardCallback implements TrainerCallback {
  private writer: EventFileWriter | null = null;
  private offset = 0;
  private pending = '';
  private decoder = new TextDecoder();
  private readonly metricsPath: string;

  /** @param o.outputDir the run folder (metrics.jsonl); o.loggingDir where the event files go. */
  constructor(private readonly o: { outputDir: string; loggingDir?: string }) {
    this.metricsPath = join(o.outputDir, 'metrics.jsonl');
  }

  /** The event file being written (null before training starts). */
  get eventFile(): string | null {
    return this.writer?.path ?? null;
  }

  onTrainBegin(): void {
    this.writer = new EventFileWriter(this.o.loggingDir ?? defaultLoggingDir(this.o.outputDir));
    this.offset = existsSync(this.metricsPath) ? statSync(this.metricsPath).size : 0;
    this.pending = '';
    this.decoder = new TextDecoder();
  }

  /** Writes the lines appended to metrics.jsonl since the last call. */
  sync(): void {
    if (!this.writer || !existsSync(this.metricsPath)) return;
    const size = statSync(this.metricsPath).size;
    if (size < this.offset) { this.offset = 0; this.pending = ''; } // the log was rewritten
    if (size === this.offset) return;
    const buf = new Uint8Array(size - this.offset);
    const fd = openSync(this.metricsPath, 'r');
    try { readSync(fd, buf, 0, buf.length, this.offset); } finally { closeSync(fd); }
    this.offset = size;
    const text = this.pending + this.decoder.decode(buf, { stream: true });
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let rec: unknown;
      try { rec = JSON.parse(line); } catch { continue; }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) continue;
      const s = scalarsOfRecord(rec as Record<string, unknown>);
      if (s) this.writer.addScalars(s.step, s.wallTime, s.values);
    }
  }

  onLog(): void { this.sync(); }
  onEvaluate(): void { this.sync(); }
  onSave(): void { this.sync(); this.writer?.flush(); }
  onTrainEnd(): void {
    this.sync();
    this.writer?.close();
  }
}
