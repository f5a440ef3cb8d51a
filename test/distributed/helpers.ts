// Shared by the distributed tests: skipping without a backend, free loopback ports, and
// processes started as the ranks of a run.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { info } from '../../lib';

/**
 * Skips the suite when this build has no Gloo (built without libgloo-dev), unless
 * SPHEREFACE_REQUIRE_DISTRIBUTED=1 (CI, where scripts/setup installs it) makes that a failure.
 */
export function requireGloo(context: Mocha.Context): void {
  if (info().distributed.includes('gloo')) return;
  if (process.env.SPHEREFACE_REQUIRE_DISTRIBUTED === '1') {
    throw new Error('SPHEREFACE_REQUIRE_DISTRIBUTED=1 but this build has no distributed backend');
  }
  context.skip();
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RankProcess {
  rank: number;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>; // the exit code (null: killed by a signal)
}

/** Starts `node script ...args` as each rank of a run on 127.0.0.1:port, one thread each. */
export function startRanks(
  worldSize: number,
  port: number,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): RankProcess[] {
  return Array.from({ length: worldSize }, (_, rank) =>
    startProcess(rank, script, args, {
      RANK: String(rank),
      WORLD_SIZE: String(worldSize),
      LOCAL_RANK: String(rank),
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
      SPHEREFACE_NUM_THREADS: '1',
      ...env,
    }),
  );
}

/** Starts `node script ...args` with `env` added, collecting its output. */
function startProcess(
  rank: number,
  script: string,
  args: string[],
  env: Record<string, string> = {},
): RankProcess {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started: RankProcess = {
    rank,
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (chunk: Buffer) => (started.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (started.stderr += chunk.toString()));
  return started;
}

/** Waits for every rank; rejects with a rank's stderr when one fails. */
export async function finishRanks(ranks: RankProcess[]): Promise<RankProcess[]> {
  const codes = await Promise.all(ranks.map((r) => r.exited));
  codes.forEach((code, rank) => {
    if (code !== 0) {
      throw new Error(`rank ${rank} exited with ${code}: ${ranks[rank].stderr.trim()}`);
    }
  });
  return ranks;
}
