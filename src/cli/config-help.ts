/**
 * The field reference of `trainformer train --help`: every config field with its type, default and
 * one-line description, read off the zod schema (its `.describe()` texts), so help and validation
 * are one source.
 */
import type { z } from 'zod';
import { fieldInfo, objectShape } from '../train/config-names.js';

/** One row of the reference. */
export interface FieldHelp {
  /** Dotted path, e.g. `data.blockSize`. */
  path: string;
  /** `integer >= 1`, `number in (0, 1)`, `boolean`, `"char" | "gpt2"`, `object`, with `| null` when nullable. */
  type: string;
  /** JSON of the default; `required` when the field must be given; `none` when it is optional without one. */
  default: string;
  description: string;
}

interface Check { _zod: { def: { check: string; value?: number; inclusive?: boolean } } }
interface CoreDef { type: string; format?: string; checks?: Check[]; entries?: Record<string, unknown> }
const coreDef = (s: z.ZodType): CoreDef => (s as unknown as { _zod: { def: CoreDef } })._zod.def;

function typeText(core: z.ZodType): string {
  const d = coreDef(core);
  switch (d.type) {
    case 'number': {
      const int = d.format !== undefined && /int/.test(d.format);
      let lo: string | null = null;
      let hi: string | null = null;
      for (const c of d.checks ?? []) {
        const k = c._zod.def;
        if (k.check === 'greater_than') lo = `${k.inclusive ? '>=' : '>'} ${k.value}`;
        if (k.check === 'less_than') hi = `${k.inclusive ? '<=' : '<'} ${k.value}`;
      }
      return [int ? 'integer' : 'number', lo, hi].filter((x) => x !== null).join(' ').replace(/ (>=?) (\S+) (<=?) /, ' $1 $2, $3 ');
    }
    case 'enum':
      return Object.values(d.entries ?? {}).map((v) => JSON.stringify(v)).join(' | ');
    case 'record':
      return 'object';
    default:
      return d.type;
  }
}

/** Every leaf field of `schema` (objects are opened; records count as leaves), in schema order. */
export function fieldReference(schema: z.ZodType, prefix = ''): FieldHelp[] {
  const out: FieldHelp[] = [];
  for (const [name, field] of Object.entries(objectShape(schema))) {
    const info = fieldInfo(field);
    const path = prefix + name;
    if (Object.keys(objectShape(field)).length > 0) {
      out.push(...fieldReference(field, `${path}.`));
      continue;
    }
    const required = !info.hasDefault && !info.optional;
    out.push({
      path,
      type: typeText(info.core) + (info.nullable ? ' | null' : ''),
      default: required ? 'required' : info.hasDefault ? JSON.stringify(info.default) : 'none',
      description: info.description ?? '',
    });
  }
  return out;
}

/** The reference as text: per field, `  path  type  default …` and the description indented below. */
export function formatFieldReference(schema: z.ZodType): string {
  const rows = fieldReference(schema);
  const w1 = Math.max(...rows.map((r) => r.path.length));
  const w2 = Math.min(44, Math.max(...rows.map((r) => r.type.length)));
  const lines = rows.flatMap((r) => {
    const dflt = r.default === 'required' ? 'required' : r.default === 'none' ? 'optional' : `default ${r.default}`;
    return [`  ${r.path.padEnd(w1)}  ${r.type.padEnd(w2)}  ${dflt}`, ...(r.description ? [`      ${r.description}`] : [])];
  });
  return [
    'Config fields (in the --config file, or as flags --<field> <value> that override it; dotted for',
    'nested blocks, e.g. --data.blockSize 32). Hugging Face snake_case (learning_rate) and kebab-case',
    '(--max-steps) spell the same fields:',
    ...lines,
  ].join('\n');
}
