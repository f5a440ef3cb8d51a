#!/usr/bin/env node
// Builds the native addons with cmake-js: build/Release/sphereface.node (the library's) and
// build/testing/sphereface_testing.node (hooks and benchmarks for tests and benches only).
//   (no flag)               both, incrementally (`npm run build:native`)
//   --install               the npm install hook: the production addon, unless it is built or a
//                           prebuild for this platform loads (`npm rebuild sphereface` always
//                           builds). A failed build warns and lets the install succeed: the
//                           pure-JavaScript parts work, and the first native call says what to do.
//                           Outside a source checkout the build's intermediates are removed.
//   --testing               the testing addon alone; with --if-missing, unless it is there
//                           (pretest, prebench)
//   --sanitize              both, built with AddressSanitizer and UBSan into build/asan
//                           (Release/, testing/), for `npm run test:asan` (scripts/asan/)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const addon = path.join(root, 'build', 'Release', 'sphereface.node');
const testingAddon = path.join(root, 'build', 'testing', 'sphereface_testing.node');
const sourceCheckout = fs.existsSync(path.join(root, '.git'));
const args = process.argv.slice(2);

function say(text) {
  console.log(`sphereface: ${text}`);
}

/** The prebuild for this platform (prebuildify's layout), when the package ships one. */
function prebuild() {
  const file = path.join(
    root,
    'prebuilds',
    `${process.platform}-${process.arch}`,
    'node.napi.node',
  );
  return fs.existsSync(file) ? file : undefined;
}

/** Whether `file` loads in a fresh process (its libtorch found, its symbols resolved). */
function loads(file) {
  const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).info()`], {
    stdio: 'ignore',
  });
  return check.status === 0;
}

/** The sanitizer build's folder, laid out as build/ is (SPHEREFACE_ADDON_DIR selects it). */
const sanitizeDir = path.join(root, 'build', 'asan');

function compile(target, extra = []) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Math.max(1, os.availableParallelism()));
  const cmake = [cmakeJs, 'compile', '--parallel', jobs, ...extra];
  if (target) cmake.push('--target', target);
  return spawnSync(process.execPath, cmake, { cwd: root, stdio: 'inherit' }).status === 0;
}

// Keep the addon, drop the object files and the precompiled header (hundreds of MB).
function removeIntermediates() {
  for (const entry of fs.readdirSync(path.join(root, 'build'))) {
    if (entry !== 'Release') fs.rmSync(path.join(root, 'build', entry), { recursive: true });
  }
  for (const entry of fs.readdirSync(path.join(root, 'build', 'Release'))) {
    if (entry !== 'sphereface.node') {
      fs.rmSync(path.join(root, 'build', 'Release', entry), { recursive: true });
    }
  }
}

function install() {
  const rebuild = process.env.npm_command === 'rebuild';
  if (!rebuild && fs.existsSync(addon)) {
    say(`addon already built (${path.relative(root, addon)})`);
    return 0;
  }
  const shipped = prebuild();
  if (!rebuild && !process.env.SPHEREFACE_BUILD_FROM_SOURCE && shipped && loads(shipped)) {
    say(`using the prebuilt addon ${path.relative(root, shipped)}`);
    return 0;
  }
  if (compile('sphereface') && fs.existsSync(addon)) {
    if (!sourceCheckout) removeIntermediates();
    return 0;
  }
  console.warn(
    [
      'sphereface: WARNING: the native addon was not built, so training, embedding and the',
      '  loss are unavailable (synthetic faces, pairs, ROC and reports work without it).',
      '  It needs libtorch: on Debian/Ubuntu `apt install libtorch-dev` (and libdnnl-dev for the',
      '  fast convs), or a libtorch folder in LIBTORCH=/path/to/libtorch; then run',
      `  ${sourceCheckout ? 'npm run build:native' : 'npm rebuild sphereface'}`,
    ].join('\n'),
  );
  return 0;
}

function main() {
  if (args.includes('--install')) return install();
  if (args.includes('--sanitize')) {
    const settings = ['--out', sanitizeDir, '--CDSPHEREFACE_SANITIZE=address,undefined'];
    if (compile(undefined, settings)) return 0;
  } else if (args.includes('--testing')) {
    if (args.includes('--if-missing') && fs.existsSync(testingAddon)) {
      say(`sphereface_testing already built (${path.relative(root, testingAddon)})`);
      return 0;
    }
    if (compile('sphereface_testing')) return 0;
  } else if (compile()) {
    return 0;
  }
  console.error(
    'sphereface: building the native addon failed. It needs libtorch: run scripts/setup, ' +
      'or set LIBTORCH to a libtorch folder (one with share/cmake/Torch).',
  );
  return 1;
}

process.exitCode = main();
