// Runs the real `sphereface` binary in a child process (exit codes, stdout and stderr as a
// user sees them) and makes a tiny synthetic face set for the CLI tests, once per run.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel } from '../../lib/models/model';
import type { Arch } from '../../lib/models/types';
import { generateSyntheticFaces, type SynthResult } from '../../lib/synth/generate';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'sphereface.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function sphereface(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const run = startSphereface(args, options);
  return run.exit.then(({ code }) => ({ code, stdout: run.stdout(), stderr: run.stderr() }));
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited: its code, or the signal that ended it. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The binary started, for tests that signal it while it runs; `env` adds to the environment. */
export function startSphereface(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, SPHEREFACE_NUM_THREADS: '2', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.on('error', reject);
      // 'close': the exit, and the output read to its end.
      child.on('close', (code, signal) => resolve({ code, signal }));
    },
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

let tiny: Promise<SynthResult> | undefined;

/** 6 training identities x 4 images, 6 held-out identities x 3 images, 2 folds of 6 + 6 pairs. */
export function tinyFaces(): Promise<SynthResult> {
  tiny ??= fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-cli-')).then((dir) =>
    generateSyntheticFaces({
      out: dir,
      identities: 6,
      images: 4,
      heldOutIdentities: 6,
      heldOutImages: 3,
      folds: 2,
      pairsPerFold: 6,
      seed: 3,
    }),
  );
  return tiny;
}

/** The demo's synthetic set at its smallest: 4 people x 3 photos each side, 2 folds of 4 pairs. */
export const TINY_DEMO_SET = [
  '--identities',
  '4',
  '--images',
  '3',
  '--held-out-identities',
  '4',
  '--held-out-images',
  '3',
  '--folds',
  '2',
  '--pairs-per-fold',
  '4',
];

/** A fresh sphere-cnn4 of 6 classes (seed 9) saved as `file`, for commands that read a model. */
export async function savedModel(file: string, arch: Arch = 'sphere-cnn4'): Promise<void> {
  const model = await createModel({
    arch,
    classes: 6,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed: 9,
  });
  try {
    await model.save(file);
  } finally {
    model.dispose();
  }
}

export async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-cli-out-'));
}

/**
 * `main(argv)` in this process with its output captured: the same code path as the binary
 * without a process start per case (the help and bad-argument tests run many of them).
 */
export async function sphereMain(args: string[]): Promise<CliResult> {
  const { main } = await import('../../lib/cli/main');
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (t: string) => ((stdout += t), true) },
    stderr: { isTTY: false, write: (t: string) => ((stderr += t), true) },
  });
  return { code, stdout: stdout.trimEnd(), stderr: stderr.trimEnd() };
}

/** Waits until `ready()` holds, polling; fails naming `what` after `ms`. */
export async function until(
  what: string,
  ms: number,
  ready: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`still waiting after ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** stderr under --json: one JSON object a line. */
export function jsonLines(text: string): { note?: string; error?: string; kind?: string }[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { note?: string; error?: string; kind?: string });
}
