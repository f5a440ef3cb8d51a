import type { Command } from '../command';
import { benchCommand } from './bench-command';
import { demoCommand } from './demo-command';
import { embedCommand } from './embed-command';
import { evalCommand } from './eval-command';
import { galleryCommand } from './gallery-command';
import { infoCommand } from './info-command';
import { prepareCommand } from './prepare-command';
import { synthCommand } from './synth-command';
import { trainCommand } from './train-command';
import { verifyCommand } from './verify-command';

/** Every `sphereface` command, in the order `--help` lists them. */
export const commands: Command[] = [
  trainCommand,
  prepareCommand,
  evalCommand,
  embedCommand,
  verifyCommand,
  galleryCommand,
  synthCommand,
  benchCommand,
  infoCommand,
  demoCommand,
];
