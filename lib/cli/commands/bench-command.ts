import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { integerArg } from '../args';
import { UsageError, type Command } from '../command';

// dist/lib/cli/commands -> dist/bench: the benchmarks ship with a source checkout, not with
// the npm package (they need the peer PyTorch scripts and write BENCHMARKS.md).
export function benchDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'bench');
}

export function benchNames(dir = benchDir()): string[] {
  if (!fs.existsSync(path.join(dir, 'run.js'))) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.bench.js'))
    .map((f) => f.replace(/\.bench\.js$/, ''))
    .sort();
}

export const benchCommand: Command = {
  name: 'bench',
  summary:
    'Run the benchmarks (all, or the named ones) as `npm run bench` does (a source checkout only)',
  usage: 'sphereface bench [NAME ...] [--list] [--threads N]',
  options: {
    list: { type: 'boolean', description: 'list the benchmarks and exit' },
    threads: {
      type: 'string',
      value: 'N',
      description: 'libtorch threads for the benchmarks',
      default: 'the cores available',
    },
  },
  async run(values, positionals, out) {
    const dir = benchDir();
    const names = benchNames(dir);
    if (names.length === 0) {
      throw new Error(
        `no benchmarks found in ${dir}: they come with a source checkout (npm run build), ` +
          'not with the installed package',
      );
    }
    if (values.list) {
      out.result(names);
      names.forEach((name) => out.line(name));
      return 0;
    }
    const unknown = positionals.filter((p) => !names.includes(p));
    if (unknown.length) {
      throw new UsageError(
        `no benchmark named ${unknown.join(', ')}; there are ${names.join(', ')}`,
      );
    }
    const threads = integerArg(values, 'threads', 1);
    const env = { ...process.env };
    if (threads !== undefined) env.SPHEREFACE_NUM_THREADS = String(threads);
    const child = spawn(process.execPath, [path.join(dir, 'run.js'), ...positionals], {
      stdio: 'inherit',
      env,
    });
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (status, signal) => resolve(signal ? 1 : (status ?? 1)));
    });
    return code === 0 ? 0 : 1;
  },
};
