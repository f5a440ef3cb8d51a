#!/usr/bin/env node
// The production addon's sources and flags for binding.gyp, from native/build-settings.json (which
// CMakeLists.txt reads too): one description of the build.
// Usage: node scripts/native-sources.js sources|defines|libraries|cxxflags|ldflags
// (or require it: `allSources()` lists the testing addon's sources too).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const settings = JSON.parse(
  fs.readFileSync(path.join(root, 'native', 'build-settings.json'), 'utf8'),
);

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.cc') ? [full] : [];
  });
}

// libjpeg(-turbo) for native/data/jpeg_decoder.cc, where its headers are in a system folder (as
// CMakeLists.txt's find_package(JPEG) finds them).
const hasJpeg = ['/usr/include', '/usr/local/include'].some((dir) =>
  fs.existsSync(path.join(dir, 'jpeglib.h')),
);
// Every native source, the testing addon's included, relative to the package root.
const allSources = () =>
  walk(path.join(root, 'native'))
    .map((file) => path.relative(root, file))
    .sort();
const lists = {
  sources: () =>
    allSources().filter((file) => !file.startsWith(path.join(settings.testingDir, path.sep))),
  defines: () => [...settings.defines, ...(hasJpeg ? ['SPHEREFACE_WITH_JPEG=1'] : [])],
  libraries: () => (hasJpeg ? ['-ljpeg'] : []),
  cxxflags: () => settings.cxxflags,
  ldflags: () => settings.ldflags,
};
module.exports = { settings, hasJpeg, allSources };

if (require.main === module) {
  const what = process.argv[2] ?? 'sources';
  if (!(what in lists)) {
    console.error('usage: native-sources.js sources|defines|libraries|cxxflags|ldflags');
    process.exit(2);
  }
  console.log(lists[what]().join(' '));
}
