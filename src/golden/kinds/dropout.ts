// Golden kind `dropout`: deterministic cases (eval, p = 0, p = 1) compare y and dx; property cases
// run training-mode dropout on the case's `input_spec` and check the listed invariants.
import { ValueError } from '../../errors.js';
import * as T from '../../tensor/index.js';
import { runAutogradCase, toTensor } from '../autograd-case.js';
import { decodeNumber } from '../decode.js';
import { registerKind } from '../registry.js';
import type { GoldenCase, HandlerResult } from '../types.js';

/** A tensor from an input_spec entry: `{fill, shape}` or a golden tensor. */
function fromSpec(spec: unknown, what: string): T.Tensor {
  if (typeof spec === 'object' && spec !== null && 'shape' in spec && 'fill' in spec) {
    const s = spec as { shape: number[]; fill: unknown };
    return T.full(s.shape, decodeNumber(s.fill));
  }
  if (typeof spec === 'object' && spec !== null && 'dtype' in spec) return toTensor(spec, false);
  throw new ValueError(`dropout: input_spec.${what} must be {fill, shape} or a tensor, got ${JSON.stringify(spec)}`);
}

const close = (a: number, b: number, rtol: number): boolean => Math.abs(a - b) <= rtol * Math.abs(b) + 1e-12;

function propertyCase(c: GoldenCase): HandlerResult {
  const spec = c.input_spec ?? {};
  const p = decodeNumber(c.options.p);
  const x = fromSpec(spec.x, 'x').requiresGrad_();
  const g = spec.grad_output !== undefined ? fromSpec(spec.grad_output, 'grad_output') : T.ones(x.shape);
  // A fixed seed makes the run reproducible; the checks hold for any seed.
  const y = T.dropout(x, p, true, new T.Generator(20240611));
  T.backward(y, g);
  const xd = x.data(), yd = y.data(), gd = g.data(), dx = x.grad!.data();
  const n = yd.length;
  const checks: NonNullable<HandlerResult['checks']> = [];
  for (const chk of c.checks ?? []) {
    const name = String(chk.check);
    const scale = chk.scale !== undefined ? decodeNumber(chk.scale) : p === 1 ? 0 : 1 / (1 - p);
    const rtol = chk.rtol !== undefined ? decodeNumber(chk.rtol) : 1e-6;
    if (name === 'values_in_set') {
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) if (!(yd[i] === 0 || close(yd[i], xd[i] * scale, rtol))) bad = i;
      checks.push({ name, passed: bad < 0, detail: bad < 0 ? undefined : `y[${bad}] = ${yd[bad]}, x = ${xd[bad]}` });
    } else if (name === 'zero_fraction') {
      let z = 0;
      for (let i = 0; i < n; i++) if (yd[i] === 0) z++;
      const f = z / n, want = decodeNumber(chk.expected), tol = decodeNumber(chk.abs_tol);
      checks.push({ name, passed: Math.abs(f - want) <= tol, detail: `fraction ${f}, expected ${want} ± ${tol}` });
    } else if (name === 'mean_ratio') {
      let sy = 0, sx = 0;
      for (let i = 0; i < n; i++) { sy += yd[i]; sx += xd[i]; }
      const r = sy / sx, want = decodeNumber(chk.expected), tol = decodeNumber(chk.abs_tol);
      checks.push({ name, passed: Math.abs(r - want) <= tol, detail: `ratio ${r}, expected ${want} ± ${tol}` });
    } else if (name === 'grad_uses_same_mask') {
      let bad = -1;
      for (let i = 0; i < n && bad < 0; i++) {
        const ok = yd[i] !== 0 ? close(dx[i], gd[i] * scale, rtol) : dx[i] === 0;
        if (!ok) bad = i;
      }
      checks.push({ name, passed: bad < 0, detail: bad < 0 ? undefined : `dx[${bad}] = ${dx[bad]}, y = ${yd[bad]}, g = ${gd[bad]}` });
    } else {
      checks.push({ name, passed: false, detail: `unknown check '${name}'` });
    }
  }
  return { checks };
}

registerKind('dropout', (c) => {
  if (c.property === true || c.checks !== undefined) return propertyCase(c);
  return runAutogradCase(c, (inp) => {
    const p = decodeNumber(c.options.p ?? 0.5);
    const training = (c.options.training as boolean | undefined) ?? true;
    return { y: T.dropout(inp.x as T.Tensor, p, training, new T.Generator(20240611)) };
  });
});
