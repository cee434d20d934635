/**
 * The layering of DESIGN.md ("Layers"), checked by dependency-cruiser (`npm run lint:deps`, part of
 * .ci/run): imports point downward only, and there are no import cycles.
 *
 * LAYERS lists src/'s folders from the top floor down; a folder may import its own floor and every
 * floor below, never one above. Folders on one floor (report, golden) may not import each other.
 * src/errors.ts and src/logger.ts are the ground: everyone may import them, they import no layer.
 * src/index.ts (the public API) is the roof: it may import everything and nothing imports it.
 * golden/ (the golden-case runner behind `npm run golden`) is not in DESIGN's list; it sits beside
 * report/, under cli/. metrics/ (BLEU, chrF, SQuAD EM/F1: pure functions of strings) is not in it
 * either; it sits under tasks/, which evaluates with it, and imports no layer.
 */
const LAYERS = [
  ['cli'],
  ['report', 'golden'],
  ['train'],
  ['distributed'],
  ['tasks'],
  ['metrics'],
  ['data'],
  ['models'],
  ['nn'],
  ['losses'],
  ['optim'],
  ['amp'],
  ['tensor'],
  ['backend'],
  ['io'],
];

const upward = LAYERS.flatMap((floor, i) => {
  const above = LAYERS.slice(0, i).flat();
  return floor.map((layer) => {
    const forbidden = [...above, ...floor.filter((f) => f !== layer)];
    return forbidden.length === 0 ? null : {
      name: `${layer}-imports-upward`,
      severity: 'error',
      comment: `src/${layer}/ may import only its own floor and the floors below it (DESIGN.md "Layers"): not ${forbidden.join(', ')}`,
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${forbidden.join('|')})/` },
    };
  }).filter(Boolean);
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'ground-imports-a-layer',
      severity: 'error',
      comment: 'src/errors.ts and src/logger.ts are imported by every layer, so they import none',
      from: { path: '^src/(errors|logger)\\.ts$' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'public-api-imported-inside',
      severity: 'error',
      comment: 'src/index.ts is the public API: code inside src/ imports the module it needs, not the roof',
      from: { path: '^src/', pathNot: '^src/index\\.ts$' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'losses-compose-ops',
      severity: 'error',
      comment: 'a loss is written with tensor ops (DESIGN.md "Losses compose ops"): src/losses/ never reaches into the backend',
      from: { path: '^src/losses/' },
      to: { path: '^src/backend/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle ties its files into one room (DESIGN.md: no cycles)',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },

  },
};
