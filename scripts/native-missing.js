// Runs when the native addon could not be built during install (no compiler, no OpenBLAS headers,
// no Node headers): says so in one line and lets the install succeed; trainformer runs on `js`.
process.stderr.write(
  'trainformer: native addon not built (needs g++, make, python3 and libopenblas-dev); ' +
    "the portable js backend will be used. Retry with 'npm run build:native'.\n",
);
process.exit(0);
