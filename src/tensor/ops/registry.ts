/**
 * The op registry: every op registers its name here when its module loads, and whether it is
 * differentiable. A test walks the registry and fails when a differentiable op has no
 * finite-difference gradient check.
 */
export interface OpInfo { readonly name: string; readonly differentiable: boolean; readonly module: string }

export const opRegistry = new Map<string, OpInfo>();

export function registerOp(module: string, names: readonly string[], differentiable = true): void {
  for (const name of names) opRegistry.set(name, { name, differentiable, module });
}
