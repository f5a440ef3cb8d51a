import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import * as path from 'node:path';

// A program that imports the library pays only for what it uses: libtorch (the addon), libvips
// (sharp) and jimp (plots, BMP) load at their first use, not at the import, whose time a server
// would otherwise wait out at start.
describe('importing the library', () => {
  it('loads neither the native addon nor sharp nor jimp', () => {
    const lib = JSON.stringify(path.resolve(__dirname, '..', 'lib'));
    const script = `
      const sphereface = require(${lib});
      const heavy = Object.keys(require.cache).filter((f) =>
        /node_modules[\\\\/](jimp|@jimp|sharp|node-gyp-build)[\\\\/]|\\.node$/.test(f),
      );
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({ heavy, libtorch: /libtorch/.test(maps), exports: typeof sphereface.createModel }));
    `;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.equal({
      heavy: [],
      libtorch: false,
      exports: 'function',
    });
  });
});
