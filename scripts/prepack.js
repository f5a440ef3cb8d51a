#!/usr/bin/env node
// npm pack / publish: compiles the TypeScript, and ships this build of the addon as the prebuild
// for the configuration CI builds (linux-x64 against the system's libtorch: Debian's
// libtorch-dev), which an install uses when it loads and compiles from source otherwise.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const prebuilds = path.join(root, 'prebuilds');
fs.rmSync(prebuilds, { recursive: true, force: true });
const addon = path.join(root, 'build', 'Release', 'sphereface.node');
const probe = spawnSync(
  process.execPath,
  ['-e', `process.stdout.write(require(${JSON.stringify(addon)}).info().torchSource)`],
  { encoding: 'utf8' },
);
const target = `${process.platform}-${process.arch}`;
if (probe.status === 0 && probe.stdout.startsWith('system') && target === 'linux-x64') {
  fs.mkdirSync(path.join(prebuilds, target), { recursive: true });
  fs.copyFileSync(addon, path.join(prebuilds, target, 'node.napi.node'));
  console.error(`prepack: prebuilds/${target}/node.napi.node (libtorch: ${probe.stdout})`);
} else {
  console.error(
    'prepack: no prebuild (only a linux-x64 build against the system libtorch ships one)',
  );
}
