// `npm run bench [-- name ...]`: runs every bench/*.bench.ts (compiled to dist/bench) but soak, or the
// named ones, one after another in child processes so each starts with a clean heap.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const wanted = process.argv.slice(2);
/** Long runs that only run when named. */
const ON_REQUEST = ['soak'];
const benches = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => {
    const name = f.replace(/\.bench\.js$/, '');
    return wanted.length === 0 ? !ON_REQUEST.includes(name) : wanted.includes(name);
  })
  .sort();
if (benches.length === 0) {
  console.error(`bench: nothing matches ${wanted.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const bench of benches) {
  console.log(`\n=== ${bench.replace(/\.bench\.js$/, '')}`);
  const result = spawnSync(process.execPath, [path.join(__dirname, bench)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
