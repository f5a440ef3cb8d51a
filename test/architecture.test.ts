// The layering the README's architecture section describes, checked on the sources: imports
// run one way (cli -> train/report/synth -> eval -> models -> data -> ops/dist -> native -> util),
// and only lib/cli writes to the terminal.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';

const LIB = path.resolve(__dirname, '..', '..', 'lib');

// Higher may import lower, never the reverse; equal ranks may not import each other.
const RANK: Record<string, number> = {
  cli: 8,
  index: 8,
  train: 7,
  report: 7,
  synth: 7,
  eval: 6,
  models: 5,
  data: 4,
  ops: 3,
  dist: 3,
  native: 2,
  info: 3,
  version: 1,
  util: 0,
};

function layerOf(file: string): string {
  const top = path.relative(LIB, file).split(path.sep)[0];
  return top.replace(/\.ts$/, '');
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

describe('architecture', () => {
  const files = sources(LIB);

  it('places every file of lib/ in a layer', () => {
    for (const file of files) expect(RANK, file).to.have.property(layerOf(file));
  });

  it('imports only downward', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const match of text.matchAll(/from '(\.[^']*)'|import\('(\.[^']*)'\)/g)) {
        const target = path.resolve(path.dirname(file), match[1] ?? match[2]);
        const to = layerOf(target);
        if (to !== from && !(RANK[to] < RANK[from])) {
          wrong.push(
            `${path.relative(LIB, file)} (${from}) imports ${match[1] ?? match[2]} (${to})`,
          );
        }
      }
    }
    expect(wrong).to.deep.equal([]);
  });

  it('writes to the terminal from lib/cli only', () => {
    const printing = files
      .filter((f) => layerOf(f) !== 'cli')
      .filter((f) =>
        /console\.(log|error|warn|info)|process\.(stdout|stderr)/.test(fs.readFileSync(f, 'utf8')),
      )
      .map((f) => path.relative(LIB, f));
    expect(printing).to.deep.equal([]);
  });
});
