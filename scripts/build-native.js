#!/usr/bin/env node
// Builds the native addons with cmake-js: build/Release/sphereface.node (the library's) and
// build/testing/sphereface_testing.node (hooks and benchmarks for tests and benches only).
//   (no flag)               both, incrementally (`npm run build:native`)
//   --if-missing            the production addon alone, unless it is there (the npm install hook:
//                           a user installing the package never builds the testing addon)
//   --testing               the testing addon alone; with --if-missing, unless it is there
//                           (pretest, prebench)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const ifMissing = process.argv.includes('--if-missing');
const testing = process.argv.includes('--testing');
const target = testing
  ? {
      name: 'sphereface_testing',
      file: path.join(root, 'build', 'testing', 'sphereface_testing.node'),
    }
  : { name: 'sphereface', file: path.join(root, 'build', 'Release', 'sphereface.node') };
if (ifMissing && fs.existsSync(target.file)) {
  console.log(`sphereface: ${target.name} already built (${path.relative(root, target.file)})`);
  process.exit(0);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const jobs = String(Math.max(1, os.availableParallelism()));
const args = [cmakeJs, 'compile', '--parallel', jobs];
if (ifMissing || testing) args.push('--target', target.name);
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    'sphereface: building the native addon failed. It needs libtorch: run scripts/setup, ' +
      'or set LIBTORCH to a libtorch folder (one with share/cmake/Torch).',
  );
  process.exit(result.status ?? 1);
}
