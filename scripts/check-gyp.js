#!/usr/bin/env node
// CI check that binding.gyp still builds the addon (CPU) with node-gyp. Builds in a scratch
// copy so the cmake-js build in build/ is left alone.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-gyp-'));
for (const item of ['binding.gyp', 'native', 'scripts', 'package.json']) {
  fs.cpSync(path.join(root, item), path.join(scratch, item), { recursive: true });
}
fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'));
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', '--jobs', String(os.availableParallelism())];
// Node's own headers, as npm is set up to use them here (there is no network to download them).
const nodedir =
  process.env.npm_config_nodedir ||
  (fs.existsSync('/usr/include/node/common.gypi') ? '/usr' : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const result = spawnSync(process.execPath, args, { cwd: scratch, stdio: 'inherit' });
const built = path.join(scratch, 'build', 'Release', 'sphereface.node');
let ok = result.status === 0 && fs.existsSync(built);
if (ok) {
  const check = spawnSync(
    process.execPath,
    ['-e', `console.log(require(${JSON.stringify(built)}).info().torchVersion)`],
    {
      stdio: 'inherit',
    },
  );
  ok = check.status === 0;
}
fs.rmSync(scratch, { recursive: true, force: true });
console.log(ok ? 'check-gyp: node-gyp build loads' : 'check-gyp: node-gyp build FAILED');
process.exit(ok ? 0 : 1);
