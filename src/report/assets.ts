/**
 * The charting library inlined in report.html: uPlot 1.6.32's IIFE build and stylesheet, read from
 * node_modules (resolved from this file, so it works from any working directory).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { FileFormatError } from '../errors.js';

export interface ChartLibrary {
  name: string;
  version: string;
  js: string;
  css: string;
}

let cached: Promise<ChartLibrary> | null = null;

/**
 * Loads uPlot's `dist/uPlot.iife.min.js` (defines the global `uPlot`) and `dist/uPlot.min.css`.
 * @throws FileFormatError naming the path when the package files cannot be read.
 */
export function loadChartLibrary(): Promise<ChartLibrary> {
  cached ??= (async () => {
    const require = createRequire(import.meta.url);
    const read = async (spec: string): Promise<string> => {
      let path = spec;
      try {
        path = require.resolve(spec);
        return await readFile(path, 'utf8');
      } catch (e) {
        throw new FileFormatError(`cannot read the charting library file ${path}: ${(e as Error).message}`);
      }
    };
    const pkg = JSON.parse(await read('uplot/package.json')) as { version?: string };
    return {
      name: 'uPlot',
      version: pkg.version ?? 'unknown',
      js: await read('uplot/dist/uPlot.iife.min.js'),
      css: await read('uplot/dist/uPlot.min.css'),
    };
  })();
  cached.catch(() => { cached = null; });
  return cached;
}
