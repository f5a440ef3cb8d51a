// A pool closed while its worker still answers tasks: close() must settle, and with it whatever
// awaits it, before the process may exit. The failure this guards against is silent: the worker,
// idle again, was unref'd while its termination was pending, and node exited with code 0 with
// the caller's promise never settled. So the check runs in a child process and reads its output.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const PLOTS = path.resolve(__dirname, '..', '..', 'lib', 'report', 'report-plots.js');

// Two plots on one worker that both fail there at once (curves without points): the second is
// queued behind the first and answers while the pool is being closed.
const CHILD = `
const { renderReportPlots } = require(${JSON.stringify(PLOTS)});
let settled = 'never settled';
process.on('exit', () => console.log(settled));
renderReportPlots([
  { kind: 'roc', curves: [{ name: 'x' }], logFar: false },
  { kind: 'roc', curves: [{ name: 'x' }], logFar: true },
]).then(
  () => (settled = 'resolved'),
  (error) => (settled = 'rejected: ' + error.message),
);
`;

describe('runOnOwnWorker', () => {
  it('settles when a task fails while the next is queued, before the process exits', function () {
    this.timeout(60_000);
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = spawnSync(process.execPath, ['-e', CHILD], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(child.status, child.stderr).to.equal(0);
      expect(child.stdout.trim()).to.match(/^rejected: /);
    }
  });
});
