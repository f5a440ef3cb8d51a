import type { Command } from '../command';
import { infoCommand } from './info-command';

/** Every `sphereface` command, in the order `--help` lists them. */
export const commands: Command[] = [infoCommand];
