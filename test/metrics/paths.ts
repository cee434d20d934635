import { fileURLToPath } from 'node:url';

/** Repository root, from dist/test/metrics/<file>.js or test/metrics/<file>.ts. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));
export const FIXTURES = `${ROOT}test/metrics/fixtures/`;
