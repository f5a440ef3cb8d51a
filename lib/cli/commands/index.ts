import type { Command } from '../command';
import { benchCommand } from './bench-command';
import { infoCommand } from './info-command';
import { synthCommand } from './synth-command';

/** Every `sphereface` command, in the order `--help` lists them. */
export const commands: Command[] = [infoCommand, synthCommand];
commands.push(benchCommand);
