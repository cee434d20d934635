// Writes native/src/kernels.gen.h and native/src/unpack.gen.inc from the kernel specification
// (src/backend/spec.ts, through the compiled dist/src/backend/native-glue.js): `npm run gen:native`
// after editing spec.ts, then rebuild the addon (npm run build:native).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const glue = await import(path.join(root, 'dist', 'src', 'backend', 'native-glue.js'));
writeFileSync(path.join(root, 'native', 'src', 'kernels.gen.h'), glue.kernelsHeader());
writeFileSync(path.join(root, 'native', 'src', 'unpack.gen.inc'), glue.unpackSource());
console.log('wrote native/src/kernels.gen.h and native/src/unpack.gen.inc');
