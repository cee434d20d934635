import { fileURLToPath } from 'node:url';

/** Repository root, from dist/test/data/<file>.js or test/data/<file>.ts. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));
export const FIXTURES = `${ROOT}test/data/fixtures/`;
export const DATA = `${ROOT}examples/data/`;
