// `sphereface train --nproc N`: starts N workers (this same command, without --nproc) with
// torchrun's variables set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), each with
// its share of the cores as its thread count, and waits for them. Several machines: each runs
// the same command with NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT set (torchrun's
// --nnodes and --node-rank); machine k's workers are ranks k*N..k*N+N-1.
//
// Ctrl-C: the first is passed on to every worker, which all stop after the same step and write
// a checkpoint; at a second they exit at once (tidying what they were writing), and one that has
// not after a moment is killed (the launcher then removes the locks it held). The workers are
// their own process group (the terminal's Ctrl-C reaches the launcher alone, which passes it on)
// and watch the launcher through an IPC channel: if it dies, they exit. When a worker exits with
// an error or a signal, the launcher tells the others over that channel, so they fail at once
// naming it rather than after its heartbeat's silence (up to 30 s).
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_DIST_TIMEOUT_MS,
  DEFAULT_MASTER_ADDR,
  distributedByEnv,
} from '../dist/distributed-options';
import { ProcessGroup, reportLostRank } from '../dist/process-group';
import { info } from '../info';
import { onLockTaken, removeLockOf } from '../util/folder-lock';
import { integerArg, positiveArg } from './args';
import { UsageError, type Options, type ParsedValues } from './command';
import type { Output } from './output';
import { exitCodeOf, onSignals, signalWords } from './signals';
import { InterruptedError } from './stop-on-signal';
import type { TrainingConfig } from './training-args';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'sphereface.js');
// How long workers get to exit by themselves once one has failed, before the launcher kills
// them: they are told at once and fail at their next wait (a step's all-reduce, a barrier), so
// only a stalled worker, or one deep in an evaluation, is still there after it.
const GRACE_MS = 10_000;
// How long workers asked to quit at a second signal get before they are killed.
const QUIT_GRACE_MS = 3_000;

/** The launcher's word to its workers: rank `rank`'s process has gone (`how`). */
interface RankExited {
  rankExited: { rank: number; how: string };
}

function isRankExited(message: unknown): message is RankExited {
  const body = (message as Partial<RankExited> | null)?.rankExited;
  return typeof body?.rank === 'number' && typeof body.how === 'string';
}

/** The launcher's word at a second signal: exit now, without a word (the launcher reports). */
interface Quit {
  quit: NodeJS.Signals;
}

/** A worker's word to its launcher: it holds lock file `lockTaken` (absolute). */
interface LockTaken {
  lockTaken: string;
}

function isLockTaken(message: unknown): message is LockTaken {
  return typeof (message as Partial<LockTaken> | null)?.lockTaken === 'string';
}

/** The flags of distributed runs (`train`). */
export const distributedOptions: Options = {
  nproc: {
    type: 'string',
    value: 'N',
    description:
      'start N worker processes here, each training on its part of every batch ' +
      '(distributed data-parallel; see the README for several machines)',
    default: 1,
  },
  'dist-timeout': {
    type: 'string',
    value: 'S',
    description:
      'distributed: seconds a rank waits for the others (rendezvous, each all-reduce) ' +
      'before it fails naming the rank lost',
    default: DEFAULT_DIST_TIMEOUT_MS / 1000,
  },
};

/**
 * What this process is in a run: with `--nproc N` (N > 1), the launcher (the workers ran; their
 * exit code); under WORLD_SIZE > 1, one rank (its group, joined); else the only process.
 */
export async function launchOrJoin(
  command: string,
  values: ParsedValues,
  positionals: string[],
  options: Options,
  config: TrainingConfig,
  out: Output,
): Promise<{ exitCode: number } | { group?: ProcessGroup }> {
  const nproc = integerArg(values, 'nproc', 1, 1);
  const timeoutMs = Math.round(
    1000 * positiveArg(values, 'dist-timeout', DEFAULT_DIST_TIMEOUT_MS / 1000),
  );
  if (nproc > 1 && isWorker()) {
    throw new UsageError(
      `--nproc starts the workers itself, but this process is one already (RANK=${process.env.RANK})`,
    );
  }
  if (isWorker() && !distributedByEnv() && process.env.WORLD_SIZE !== '1') {
    throw new UsageError(
      `RANK is set (${process.env.RANK}) but WORLD_SIZE is not: set both, as torchrun does`,
    );
  }
  // Several machines with one worker each (NNODES > 1) launch as --nproc N > 1 does.
  const worldSize = isWorker() ? 1 : nodeLayout(nproc, process.env).worldSize;
  if (worldSize > config.batchSize) {
    throw new UsageError(
      `${worldSize} ranks need --batch-size ${worldSize} or more (each takes part of every ` +
        `batch), got ${config.batchSize}`,
    );
  }
  if (worldSize > 1) {
    const request = { command, nproc, values, options, positionals };
    return { exitCode: await launchWorkers({ ...request, threads: config.threads }, out) };
  }
  if (!distributedByEnv()) return {};
  exitWithLauncher();
  return { group: await ProcessGroup.join({ timeoutMs }) };
}

export interface LaunchRequest {
  command: string;
  nproc: number;
  /** The command's parsed options (re-emitted for the workers, less `nproc`). */
  values: ParsedValues;
  options: Options;
  positionals: string[];
  threads?: number;
}

/** Whether this process is a worker some launcher (ours or torchrun) started. */
export function isWorker(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.RANK !== undefined && env.RANK !== '';
}

/**
 * A worker that our launcher started (it has the launcher's channel), other than rank 0: its
 * error is told as a note naming its rank, so that the run's stderr holds one error, rank 0's,
 * and not one per rank (under --json, one JSON error object).
 */
export function isLaunchedOtherRank(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.channel !== undefined && isWorker(env) && env.RANK !== '0';
}

/** The command line that gives `values` again, less the options named in `omit`. */
export function argsOf(values: ParsedValues, options: Options, omit: string[]): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (omit.includes(name) || value === undefined || value === false) continue;
    if (options[name]?.type === 'boolean' || value === true) args.push(`--${name}`);
    else for (const one of Array.isArray(value) ? value : [value]) args.push(`--${name}=${one}`);
  }
  return args;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function nodeLayout(nproc: number, env: NodeJS.ProcessEnv) {
  const nodes = env.NNODES ? Number(env.NNODES) : 1;
  const node = env.NODE_RANK ? Number(env.NODE_RANK) : 0;
  if (!Number.isInteger(nodes) || nodes < 1) {
    throw new UsageError(`NNODES must be a positive integer, got '${env.NNODES}'`);
  }
  if (!Number.isInteger(node) || node < 0 || node >= nodes) {
    throw new UsageError(`NODE_RANK must be an integer in 0..${nodes - 1}, got '${env.NODE_RANK}'`);
  }
  if (nodes > 1 && (!env.MASTER_ADDR || !env.MASTER_PORT)) {
    throw new UsageError('with NNODES > 1, set MASTER_ADDR and MASTER_PORT (rank 0 machine)');
  }
  return { worldSize: nodes * nproc, firstRank: node * nproc };
}

/** Runs the workers to their end; resolves with the exit code the launcher should give. */
export async function launchWorkers(request: LaunchRequest, out: Output): Promise<number> {
  const env = process.env;
  const { worldSize, firstRank } = nodeLayout(request.nproc, env);
  const masterAddr = env.MASTER_ADDR || DEFAULT_MASTER_ADDR;
  const masterPort = env.MASTER_PORT || String(await freePort(masterAddr));
  const threads =
    request.threads ?? Math.max(1, Math.floor(os.availableParallelism() / request.nproc));
  // One GPU per rank (what NCCL needs): each worker sees only its own, unless the user chose.
  const gpus = info().cuda.devices.length;
  const oneGpuEach = gpus >= request.nproc && env.CUDA_VISIBLE_DEVICES === undefined;
  const args = [
    request.command,
    ...request.positionals,
    ...argsOf(request.values, request.options, ['nproc']),
  ];
  out.note(
    `starting ${request.nproc} worker${request.nproc === 1 ? '' : 's'}: ranks ` +
      `${firstRank}..${firstRank + request.nproc - 1} ` +
      `of ${worldSize}, rendezvous at ${masterAddr}:${masterPort}, ${threads} thread(s) each`,
  );
  const workers: { rank: number; child: ChildProcess; code?: number; locks: string[] }[] = [];
  for (let local = 0; local < request.nproc; local++) {
    const rank = firstRank + local;
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(local),
        LOCAL_WORLD_SIZE: String(request.nproc),
        MASTER_ADDR: masterAddr,
        MASTER_PORT: masterPort,
        SPHEREFACE_NUM_THREADS: String(threads),
        ...(oneGpuEach ? { CUDA_VISIBLE_DEVICES: String(local) } : {}),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    const locks: string[] = [];
    child.on('message', (message) => {
      if (isLockTaken(message)) locks.push(message.lockTaken);
    });
    workers.push({ rank, child, locks });
  }

  let interrupts = 0;
  let interruptedBy: NodeJS.Signals | undefined;
  const killAll = () => {
    for (const w of workers) if (w.code === undefined) w.child.kill('SIGKILL');
  };
  const tellTheOthers = (rank: number, how: string) => {
    const message: RankExited = { rankExited: { rank, how } };
    for (const w of workers) {
      // Its channel may close before the message goes: then it has gone too.
      if (w.code === undefined && w.child.connected) w.child.send(message, () => {});
    }
  };
  // Ctrl-C or SIGTERM: passed on, so the workers stop where their work stays usable (after the
  // same step, with a checkpoint; or with the store's finished shards recorded); a second signal
  // kills them.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      interruptedBy = signal;
      out.note(
        `${signalWords(signal).what}: the workers stop after this step and ` +
          'write a checkpoint, or, preparing the image store, once the shards being written are ' +
          `recorded (${signalWords(signal).again} again to end them at once)`,
      );
      for (const w of workers) if (w.code === undefined) w.child.kill(signal);
    } else if (interrupts === 2) {
      // Each is asked to exit at once, which tidies what it was writing and its locks; one that
      // does not within a moment is killed, as a third signal kills them all.
      for (const w of workers) {
        if (w.code === undefined && w.child.connected)
          w.child.send({ quit: signal } satisfies Quit);
      }
      quitTimer = setTimeout(killAll, QUIT_GRACE_MS);
    } else {
      killAll();
    }
  };
  // A worker that a passed-on signal ended, by it or with its exit code, stopped as asked.
  const stoppedAsAsked = (code: number | null, signal: NodeJS.Signals | null) =>
    interruptedBy !== undefined && (signal === interruptedBy || code === exitCodeOf(interruptedBy));
  const release = onSignals(onSignal);
  let graceTimer: NodeJS.Timeout | undefined;
  let quitTimer: NodeJS.Timeout | undefined;
  try {
    let firstFailure: number | undefined;
    let stopped = false;
    let firstRankSilent = false;
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.child.on('error', (error) => {
              out.note(`rank ${w.rank}: could not start (${error.message})`);
              w.code = 1;
              tellTheOthers(w.rank, `could not start: ${error.message}`);
              resolve();
            });
            w.child.on('exit', (code, signal) => {
              w.code = code ?? (signal ? exitCodeOf(signal) : 128);
              if (w.code !== 0) {
                const how = `exited with ${signal ? `signal ${signal}` : `code ${code}`}`;
                // Told too, so that none waits on a rank that is gone.
                if (interrupts < 2) tellTheOthers(w.rank, how);
                if (stoppedAsAsked(code, signal)) {
                  stopped = true;
                  // Ended by the signal itself: before its handlers were in place, so silent.
                  if (w.rank === firstRank && signal !== null) firstRankSilent = true;
                  out.note(`rank ${w.rank} stopped (${how})`);
                } else {
                  out.note(`rank ${w.rank} ${how}`);
                  if (firstFailure === undefined) {
                    firstFailure = w.code;
                    graceTimer = setTimeout(killAll, GRACE_MS);
                  }
                }
              }
              resolve();
            });
          }),
      ),
    );
    if (interrupts > 1) {
      throw new InterruptedError(
        interruptedBy!,
        'a second signal ended the workers (the checkpoints and shards they finished stay)',
      );
    }
    // A worker's own code (137 for a kill) is in the note above; the command failed: 1, or 2
    // when the first to fail refused its arguments (every rank reads the same).
    if (firstFailure !== undefined) return firstFailure === 2 ? 2 : 1;
    // Stopped by the signal before it could finish a step (preparing, starting): as a shell
    // reports a process the signal ended. The first rank said so, unless it was still starting.
    if (stopped && firstRankSilent) {
      throw new InterruptedError(interruptedBy!, 'the workers ended at it while starting');
    }
    return stopped ? exitCodeOf(interruptedBy!) : 0;
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    if (quitTimer) clearTimeout(quitTimer);
    release();
    // A killed worker could not remove its locks (a run's folder, a store being prepared).
    for (const w of workers) for (const lock of w.locks) removeLockOf(lock, w.child.pid!);
  }
}

/**
 * In a worker our launcher started: exit when the launcher is gone (the IPC channel closes), and
 * heed its word of other workers that have exited.
 */
export function exitWithLauncher(): void {
  if (!process.channel) return;
  process.channel.unref(); // the channel alone must not keep the worker alive
  onLockTaken((file) => process.send?.({ lockTaken: file } satisfies LockTaken));
  process.once('disconnect', () => process.exit(1));
  process.on('message', (message) => {
    if (isRankExited(message)) reportLostRank(message.rankExited.rank, message.rankExited.how);
    // The exit handlers remove this process's locks and the temporaries of its writes.
    const quit = (message as Partial<Quit> | null)?.quit;
    if (quit !== undefined) process.exit(exitCodeOf(quit));
  });
}
