#!/usr/bin/env node
// Compiles the CUDA kernels (native/ops/*.cu) with nvcc, without a GPU: keeps them building
// where CI has nvcc. Passes, saying so, when nvcc is absent.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const candidates = [process.env.NVCC, '/usr/local/cuda/bin/nvcc', 'nvcc'].filter(Boolean);
const nvcc = candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
if (!nvcc) {
  console.log('check:cuda: nvcc not found (set NVCC or install CUDA): skipped');
  process.exit(0);
}
const opsDir = path.join(root, 'native', 'ops');
const sources = fs.existsSync(opsDir)
  ? fs.readdirSync(opsDir).filter((f) => f.endsWith('.cu'))
  : [];
if (sources.length === 0) {
  console.log('check:cuda: no .cu sources under native/ops');
  process.exit(0);
}
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-cuda-'));
let failed = 0;
for (const source of sources) {
  const args = [
    '-std=c++17',
    '-O3',
    '-I',
    path.join(root, 'native'),
    '-c',
    path.join(opsDir, source),
    '-o',
    path.join(out, `${source}.o`),
  ];
  const result = spawnSync(nvcc, args, { stdio: 'inherit' });
  console.log(`check:cuda: ${source} ${result.status === 0 ? 'compiles' : 'FAILED'} with ${nvcc}`);
  if (result.status !== 0) failed++;
}
fs.rmSync(out, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
