import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import * as path from 'node:path';

// A program that imports the library pays only for what it uses: libtorch (the addon), libvips
// (sharp) and jimp (plots, BMP) load at their first use, not at the import, whose time a server
// would otherwise wait out at start.
function heavyModulesOf(module: string) {
  const script = `
      const sphereface = require(${JSON.stringify(module)});
      const heavy = Object.keys(require.cache).filter((f) =>
        /node_modules[\\\\/](jimp|@jimp|sharp|node-gyp-build)[\\\\/]|\\.node$/.test(f),
      );
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      const exported = Object.keys(sphereface).length > 0;
      console.log(JSON.stringify({ heavy, libtorch: /libtorch/.test(maps), exported }));
    `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as unknown;
}

describe('importing the library', () => {
  it('loads neither the native addon nor sharp nor jimp', () => {
    const lib = path.resolve(__dirname, '..', 'lib');
    expect(heavyModulesOf(lib)).to.deep.equal({ heavy: [], libtorch: false, exported: true });
  });

  // `sphereface --help` and every command's usage errors answer without them too.
  it('nor does the CLI until a command needs them', () => {
    const cli = path.resolve(__dirname, '..', 'lib', 'cli', 'main.js');
    expect(heavyModulesOf(cli)).to.deep.equal({ heavy: [], libtorch: false, exported: true });
  });
});
