#!/usr/bin/env node
// The addon's C++ sources (native/**/*.cc), for binding.gyp; CMakeLists.txt globs the same set.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.cc') ? [full] : [];
  });
}

const root = path.resolve(__dirname, '..');
console.log(
  walk(path.join(root, 'native'))
    .map((f) => path.relative(root, f))
    .sort()
    .join(' '),
);
