#!/usr/bin/env node
// `npm run test:asan`: the native-heavy specs once under AddressSanitizer and UBSan. The addons
// come from the sanitizer build (build/asan, `node scripts/build-native.js --sanitize`, which the
// npm script runs first); node itself is not instrumented, so GCC's sanitizer runtimes are
// preloaded into it (and into the node processes the specs start, which inherit the settings).
// Reports go to build/asan/reports/ (one file per process), are printed at the end, and fail
// the run; reports from libtorch's own code are suppressed (scripts/asan/asan.supp, ubsan.supp).
// Leak checking is off: node and libtorch leave their process-lifetime allocations (V8's heap,
// libtorch's registries and thread pools) to the exit by design, which LeakSanitizer would list
// by the thousand; the soak bench (`npm run bench -- soak`) watches for real leaks instead.
//   node scripts/asan/run-tests.js [spec files...]   (default: the set below; paths under dist/)
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const addonDir = path.join(root, 'build', 'asan');
const reports = path.join(addonDir, 'reports');

// Every spec that runs native code with variety, within about 20 minutes on 2 cores: the nets
// and their layers, model files (forged ones too), training steps and SGD, the fused loss,
// checkpoints and resume, the JPEG decoder (damaged files too), the image store's gather, the
// process group, and the exit paths.
const SPECS = [
  'test/info.test.js',
  'test/models/clean-exit.test.js',
  'test/models/conv3x3.test.js',
  'test/models/embed-weight-cache.test.js',
  'test/models/fused-sgd.test.js',
  'test/models/gallery.test.js',
  'test/models/heads-and-sizes.test.js',
  'test/models/model-behaviour.test.js',
  'test/models/native-boundary.test.js',
  'test/models/prelu.test.js',
  'test/models/save-load.test.js',
  'test/models/strided-conv-stack.test.js',
  'test/models/threshold-and-weights-only.test.js',
  'test/models/training.test.js',
  'test/ops/margin-softmax-edge-inputs.test.js',
  'test/ops/margin-softmax-gradients.test.js',
  'test/ops/margin-softmax-reference.test.js',
  'test/ops/margin-softmax-validation.test.js',
  'test/train/checkpoint.test.js',
  'test/train/resume-model.test.js',
  'test/data/jpeg-fast-path.test.js',
  'test/data/store/image-reader.test.js',
  'test/data/store/data-loader-store.test.js',
  'test/data/store/store-special-files.test.js',
  'test/distributed/process-group.test.js',
].map((spec) => path.join('dist', spec));

/** GCC's runtime `name` (the one the addon was linked against). */
function runtime(name) {
  const file = execFileSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(file) || !fs.existsSync(file)) {
    throw new Error(`test:asan: gcc has no ${name} (Debian: apt-get install gcc)`);
  }
  return file;
}

function main() {
  const production = path.join(addonDir, 'Release', 'sphereface.node');
  if (!fs.existsSync(production)) {
    console.error(`test:asan: no ${production}: run node scripts/build-native.js --sanitize`);
    return 1;
  }
  const specs = process.argv.length > 2 ? process.argv.slice(2) : SPECS;
  fs.rmSync(reports, { recursive: true, force: true });
  fs.mkdirSync(reports, { recursive: true });
  const env = {
    ...process.env,
    SPHEREFACE_ADDON_DIR: addonDir,
    LD_PRELOAD: [runtime('libasan.so'), runtime('libubsan.so'), process.env.LD_PRELOAD]
      .filter(Boolean)
      .join(' '),
    ASAN_OPTIONS: [
      'detect_leaks=0',
      // node installs its own SIGSEGV handler (WebAssembly bounds checks).
      'allow_user_segv_handler=1',
      `suppressions=${path.join(__dirname, 'asan.supp')}`,
      `log_path=${path.join(reports, 'asan')}`,
    ].join(':'),
    UBSAN_OPTIONS: [
      'print_stacktrace=1',
      `suppressions=${path.join(__dirname, 'ubsan.supp')}`,
      `log_path=${path.join(reports, 'ubsan')}`,
    ].join(':'),
  };
  const mocha = require.resolve('mocha/bin/mocha.js');
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    [mocha, '--no-config', '--timeout', '1200000', '--enable-source-maps', ...specs],
    { cwd: root, env, stdio: 'inherit' },
  );
  const found = fs.readdirSync(reports).sort();
  for (const file of found) {
    console.error(`\n==== ${path.join(reports, file)}`);
    console.error(fs.readFileSync(path.join(reports, file), 'utf8'));
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1);
  console.log(
    `test:asan: ${specs.length} spec files in ${minutes} min; mocha exited ${run.status ?? run.signal}; ` +
      `${found.length} sanitizer report file(s)`,
  );
  return run.status === 0 && found.length === 0 ? 0 : 1;
}

process.exitCode = main();
