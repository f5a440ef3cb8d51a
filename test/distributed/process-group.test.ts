// The process group in this process: ranks are separate groups (each with its own native
// thread) meeting on a loopback port, so rendezvous, collectives and their failures are fast
// to check without starting processes.
import { expect } from 'chai';
import * as net from 'node:net';
import { ProcessGroup } from '../../lib/dist/process-group';
import { freePort, requireGloo } from './helpers';
import { rejection } from '../rejection';

async function joinAll(worldSize: number, timeoutMs = 20_000): Promise<ProcessGroup[]> {
  const masterPort = await freePort();
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      ProcessGroup.join({ rank, worldSize, masterPort, timeoutMs, backend: 'gloo' }),
    ),
  );
}

describe('process group', function () {
  before(function () {
    requireGloo(this);
  });

  it('sums and maximises over the ranks, and meets at barriers', async () => {
    const groups = await joinAll(3);
    try {
      expect(groups.map((g) => [g.rank, g.worldSize, g.backend])).to.deep.equal([
        [0, 3, 'gloo'],
        [1, 3, 'gloo'],
        [2, 3, 'gloo'],
      ]);
      const sums = await Promise.all(groups.map((g) => g.allReduce([g.rank, 10 * g.rank, 0.5])));
      for (const sum of sums) expect(Array.from(sum)).to.deep.equal([3, 30, 1.5]);
      const maxima = await Promise.all(
        groups.map((g) => g.allReduce([10 - g.rank, g.rank], 'max')),
      );
      for (const max of maxima) expect(Array.from(max)).to.deep.equal([10, 2]);
      expect(await Promise.all(groups.map((g) => g.anyTrue(g.rank === 2)))).to.deep.equal([
        true,
        true,
        true,
      ]);
      expect(await Promise.all(groups.map((g) => g.anyTrue(false)))).to.deep.equal([
        false,
        false,
        false,
      ]);
      // A barrier returns only once the last rank has come.
      let lastCame = false;
      const early = Promise.all([groups[0].barrier(), groups[1].barrier()]).then(() => lastCame);
      await new Promise((resolve) => setTimeout(resolve, 300));
      lastCame = true;
      await groups[2].barrier();
      expect(await early).to.equal(true);
      await Promise.all(groups.map((g) => g.leave()));
    } finally {
      for (const g of groups) g.dispose();
    }
  });

  it('names the ranks that never arrive', async () => {
    const masterPort = await freePort();
    const started = performance.now();
    const error = await rejection(
      ProcessGroup.join({ rank: 0, worldSize: 3, masterPort, timeoutMs: 1500 }),
    );
    expect(error.message).to.match(/rank 0: ranks 1, 2 did not arrive within 1\.5 s/);
    expect(performance.now() - started).to.be.below(10_000);
  });

  it('says so when rank 0 never arrives', async () => {
    const masterPort = await freePort();
    const error = await rejection(
      ProcessGroup.join({ rank: 1, worldSize: 2, masterPort, timeoutMs: 1500 }),
    );
    expect(error.message).to.match(
      /rank 1: could not reach the rendezvous store .*rank 0 did not arrive/,
    );
  });

  it('refuses a second process joining as the same rank, and a port in use', async () => {
    const masterPort = await freePort();
    const options = { worldSize: 3, masterPort };
    // Rank 0, which hosts the store, waits longest: the ranks 1 give up first, while it is up.
    const first = rejection(ProcessGroup.join({ ...options, rank: 0, timeoutMs: 8000 }));
    const seconds = [0, 300].map(async (delay) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      return rejection(ProcessGroup.join({ ...options, rank: 1, timeoutMs: 4000 }));
    });
    // Whichever claims RANK 1 first waits for rank 2 and fails naming it; the other is refused.
    const errors = await Promise.all(seconds);
    const refused = errors.filter((e) =>
      /another process already joined as RANK 1/.test(e.message),
    );
    expect(refused, errors.map((e) => e.message).join('; ')).to.have.length(1);
    expect(errors.find((e) => !refused.includes(e))!.message).to.match(/rank 2 did not arrive/);
    expect((await first).message).to.match(/rank 2 did not arrive/);
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)),
    );
    try {
      const busy = await rejection(
        ProcessGroup.join({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 1000 }),
      );
      expect(busy.message).to.match(
        /rank 0: could not host the rendezvous store at 127\.0\.0\.1:\d+/,
      );
    } finally {
      blocker.close();
    }
  });

  it('names the rank lost when one leaves in the middle of a collective', async () => {
    const groups = await joinAll(2, 2000);
    try {
      groups[1].dispose(); // gone: its heartbeat stops, its connections close
      const error = await rejection(groups[0].allReduce([1]));
      expect(error.message).to.match(/rank 0: lost rank 1/);
    } finally {
      for (const g of groups) g.dispose();
    }
  });

  const waits = {
    'an all-reduce': (g: ProcessGroup) => g.allReduce([1]),
    'a barrier': (g: ProcessGroup) => g.barrier(),
  };
  for (const [wait, call] of Object.entries(waits)) {
    it(`fails ${wait} at once naming a rank reported lost, to the rank told and through the store`, async () => {
      // A minute's timeout: unreported, the lost rank's silence would take 30 s to show.
      const groups = await joinAll(3, 60_000);
      try {
        groups[2].dispose();
        // Only rank 0 is told, as a launcher on rank 2's machine would tell its own workers.
        groups[0].reportLost(2, 'exited with signal SIGKILL');
        const started = performance.now();
        const errors = await Promise.all(groups.slice(0, 2).map((g) => rejection(call(g))));
        for (const [rank, error] of errors.entries()) {
          expect(error.message).to.contain(
            `rank ${rank}: lost rank 2 (exited with signal SIGKILL)`,
          );
        }
        expect(performance.now() - started).to.be.below(10_000);
        // Gloo may still wait for rank 2 until the timeout: not on this thread.
        const disposing = performance.now();
        for (const g of groups) g.dispose();
        expect(performance.now() - disposing).to.be.below(5_000);
      } finally {
        for (const g of groups) g.dispose();
      }
    });
  }
});
