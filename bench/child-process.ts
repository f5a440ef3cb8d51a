// What the side-by-side benchmarks share: finding a python3 with torch for the PyTorch side, and
// running one side in its own process for its last stdout line as JSON.
import { spawnSync } from 'node:child_process';

/** A python3 that imports torch, or null (apt-get install python3-torch). */
export function pythonWithTorch(env: NodeJS.ProcessEnv): string | null {
  for (const candidate of [process.env.PYTHON, '/usr/bin/python3', 'python3']) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ['-c', 'import torch'], { env });
    if (probe.status === 0) return candidate;
  }
  return null;
}

/** Runs `command args` and parses its last stdout line; throws with its stderr if it fails. */
export function runJsonLine<T>(command: string, args: string[], env: NodeJS.ProcessEnv): T {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  const line = result.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}
