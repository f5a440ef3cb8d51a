#!/usr/bin/env node
// clang-format over native/ (--check fails on any difference, --fix rewrites in place).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return /\.(cc|h|cu|cuh)$/.test(entry.name) ? [full] : [];
  });
}
const files = walk(path.join(root, 'native'));
const binary = require('clang-format').getNativeBinary();
const fix = process.argv.includes('--fix');
const args = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const result = spawnSync(binary, ['--style=file', ...args], { cwd: root, stdio: 'inherit' });
if (result.status !== 0 && !fix)
  console.error('clang-format: run `npm run format` to fix the files above');
process.exit(result.status ?? 1);
