#!/usr/bin/env node
// Builds the native addon with cmake-js into build/Release/sphereface.node.
// `--if-missing` (the npm install hook) skips the build when the addon is already there.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'sphereface.node');
if (process.argv.includes('--if-missing') && fs.existsSync(addon)) {
  console.log(`sphereface: addon already built (${path.relative(root, addon)})`);
  process.exit(0);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const jobs = String(Math.max(1, os.availableParallelism()));
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--parallel', jobs], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error(
    'sphereface: building the native addon failed. It needs libtorch: run scripts/setup, ' +
      'or set LIBTORCH to a libtorch folder (one with share/cmake/Torch).',
  );
  process.exit(result.status ?? 1);
}
