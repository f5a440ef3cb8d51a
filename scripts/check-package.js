#!/usr/bin/env node
// CI check of the npm package as users get it: `npm pack`, install the tarball into a new
// project, and use it there (ESM import, CJS require, `npx sphereface info`, createModel + embed,
// its declarations under each TypeScript module setting);
// then install it where the addon cannot be built and check the install still succeeds, the
// pure-JavaScript parts work and the first native call says what to do.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-package-'));
const MAX_BYTES = 25 * 1024 * 1024;
let failures = 0;

function check(ok, what) {
  console.log(`check-package: ${ok ? 'ok' : 'FAILED'}: ${what}`);
  if (!ok) failures++;
}

function run(command, args, cwd, env = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

function duBytes(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += duBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

function project(name) {
  const dir = path.join(scratch, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.0.0', private: true }, null, 2),
  );
  return dir;
}

// 1. The tarball: what it holds.
const packed = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
)[0];
const tarball = path.join(scratch, packed.filename);
const files = packed.files.map((f) => f.path);
check(
  !files.some((f) => /^(test|bench|native\/testing|\.ci)\//.test(f) || f.endsWith('.map')),
  'no tests, benches, testing hooks or source maps in the tarball',
);
check(files.includes('LICENSE') && files.includes('cmake/find_libtorch.cmake'), 'LICENSE, cmake/');
check(files.includes('python/sphereface_torch.py'), 'the PyTorch reference definition');
check(
  files.includes(`prebuilds/${process.platform}-${process.arch}/node.napi.node`),
  'a prebuilt addon for this platform',
);

// 2. Installed into a new project: the prebuild loads, nothing is compiled, nothing left over.
const user = project('consumer');
// --foreground-scripts: npm shows a dependency's install output only when asked.
const npmInstall = ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball];
const installed = run('npm', npmInstall, user);
check(installed.code === 0, `npm install of the tarball (${installed.code})`);
if (installed.code !== 0) console.log(installed.out);
check(/using the prebuilt addon/.test(installed.out), 'the install used the prebuild');
const pkg = path.join(user, 'node_modules', 'sphereface');
const size = duBytes(pkg);
check(size < MAX_BYTES, `installed package ${(size / 1048576).toFixed(1)} MB (< 25 MB)`);
check(!fs.existsSync(path.join(pkg, 'build', 'CMakeFiles')), 'no build intermediates');

const esm = `
import { createModel, info, version } from 'sphereface';
const model = await createModel({ arch: 'sphere-cnn4', classes: 10, head: { kind: 'sphere', m: 4 }, seed: 1 });
const n = 2;
const images = Uint8Array.from({ length: n * 96 * 96 * 3 }, (_, i) => (i * 31) % 256);
const features = await model.embed(images, n);
model.dispose();
if (features.length !== n * 512 || !features.every(Number.isFinite)) throw new Error('bad features');
console.log('esm', version, info().torch.version, features.length);
`;
fs.writeFileSync(path.join(user, 'esm.mjs'), esm);
const viaImport = run(process.execPath, ['esm.mjs'], user);
check(viaImport.code === 0 && /^esm /m.test(viaImport.out), 'ESM import, createModel + embed');
if (viaImport.code !== 0) console.log(viaImport.out);
const viaRequire = run(
  process.execPath,
  ['-e', "const s = require('sphereface'); console.log('cjs', typeof s.Trainer, s.info().version)"],
  user,
);
check(viaRequire.code === 0 && /^cjs function /m.test(viaRequire.out), 'CJS require');
const npx = run('npx', ['--no-install', 'sphereface', 'info', '--json'], user);
check(
  npx.code === 0 && JSON.parse(npx.out.trim().split('\n').at(-1)).version,
  'npx sphereface info',
);

// The package's declarations compile in a strict user project under each module setting users
// have (no skipLibCheck: every declaration the import reaches is checked), with this checkout's
// TypeScript and @types/node.
const typeCheck = `import { createModel, info, loadImages, Trainer, type Model } from 'sphereface';
export async function use(): Promise<void> {
  const model: Model = await createModel({ arch: 'sphere-cnn4', classes: 3, head: { kind: 'sphere', m: 4 } });
  console.log(info().version, typeof loadImages, typeof Trainer);
  model.dispose();
}
`;
fs.writeFileSync(path.join(user, 'typed.ts'), typeCheck);
fs.writeFileSync(path.join(user, 'typed.mts'), typeCheck);
for (const [module, resolution, file] of [
  ['nodenext', 'nodenext', 'typed.mts'],
  ['nodenext', 'nodenext', 'typed.ts'],
  ['node16', 'node16', 'typed.mts'],
  ['commonjs', 'node10', 'typed.ts'],
  ['esnext', 'bundler', 'typed.ts'],
]) {
  const tsc = run(
    process.execPath,
    [
      require.resolve('typescript/bin/tsc'),
      ...['--noEmit', '--strict', '--target', 'es2022', '--module', module],
      ...['--moduleResolution', resolution, '--types', 'node', file],
      ...['--typeRoots', path.join(root, 'node_modules', '@types')],
    ],
    user,
  );
  check(tsc.code === 0, `the declarations type-check (module ${module}, ${resolution}, ${file})`);
  if (tsc.code !== 0) console.log(tsc.out);
}

// 3. Where the addon cannot be built (no libtorch; the prebuild does not apply): the install
// succeeds with a warning, pure-JS parts work, and a native call names the command to run.
const bare = project('without-libtorch');
const noTorch = run('npm', npmInstall, bare, {
  LIBTORCH: path.join(scratch, 'no-libtorch-here'),
  SPHEREFACE_BUILD_FROM_SOURCE: '1',
});
check(noTorch.code === 0, `install without libtorch succeeds (${noTorch.code})`);
check(/WARNING: the native addon was not built/.test(noTorch.out), 'and warns');
fs.rmSync(path.join(bare, 'node_modules', 'sphereface', 'prebuilds'), { recursive: true });
const pure = run(
  process.execPath,
  [
    '-e',
    `const s = require('sphereface');
     const pairs = s.makeVerificationPairs(Array.from({ length: 40 }, (_, i) => i % 20), { folds: 2, pairsPerFold: 4 });
     console.log('pure', pairs.length);
     s.createModel({ arch: 'sphere-cnn4', classes: 3, head: { kind: 'sphere', m: 4 } })
       .then(() => console.log('loaded?'), (e) => console.log('native:', e.message));`,
  ],
  bare,
);
check(/^pure 8$/m.test(pure.out), 'pure-JavaScript parts work without the addon');
check(
  /native: .*libtorch.*`npm rebuild sphereface`/s.test(pure.out),
  'a native call rejects naming `npm rebuild sphereface`',
);
if (failures) console.log(pure.out);

fs.rmSync(scratch, { recursive: true, force: true });
console.log(failures ? `check-package: ${failures} FAILED` : 'check-package: the package works');
process.exit(failures ? 1 : 0);
