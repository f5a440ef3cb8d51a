#!/usr/bin/env node
// libtorch's include and library folders for binding.gyp, found in the same order as
// cmake/find_libtorch.cmake: LIBTORCH -> python3's torch -> the system's.
// Usage: node scripts/torch-paths.js include|libdir|cxxstd (or require it: `cxxStandard(include)`)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function root() {
  if (process.env.LIBTORCH) return process.env.LIBTORCH;
  try {
    const dir = execFileSync(
      'python3',
      ['-c', 'import torch, os; print(os.path.dirname(torch.__file__))'],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .toString()
      .trim();
    if (fs.existsSync(path.join(dir, 'include'))) return dir;
  } catch {
    // no python torch: fall through to the system's
  }
  return null;
}

// The C++ standard libtorch's headers in `include` need: c++20 from libtorch 2.14 on (its ATen.h
// refuses anything older), c++17 before. cmake/find_libtorch.cmake reads the same line.
function cxxStandard(include) {
  const aten = path.join(include, 'ATen', 'ATen.h');
  const text = fs.existsSync(aten) ? fs.readFileSync(aten, 'utf8') : '';
  return /__cplusplus < 202002L/.test(text) ? 'c++20' : 'c++17';
}

function main() {
  const base = root();
  const what = process.argv[2];
  const inc = base ? path.join(base, 'include') : '/usr/include';
  if (what === 'include') {
    console.log([inc, path.join(inc, 'torch', 'csrc', 'api', 'include')].join(' '));
  } else if (what === 'cxxstd') {
    console.log(cxxStandard(inc));
  } else if (what === 'libdir') {
    if (base) console.log(path.join(base, 'lib'));
    else {
      const multiarch = fs
        .readdirSync('/usr/lib')
        .find((d) => fs.existsSync(path.join('/usr/lib', d, 'libtorch_cpu.so')));
      console.log(multiarch ? path.join('/usr/lib', multiarch) : '/usr/lib');
    }
  } else {
    console.error('usage: torch-paths.js include|libdir|cxxstd');
    process.exit(2);
  }
}

module.exports = { cxxStandard };
if (require.main === module) main();
