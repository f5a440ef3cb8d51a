// The committed insightface fixtures (test/fixtures/insightface, made by its regenerate.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURES = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'insightface',
);

/** The image files a .bin holds, in order, and its booleans. */
export interface FixtureSet {
  images: string[];
  issame: boolean[];
}

export function manifest(): { pairs: FixtureSet; mixed: FixtureSet } {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as {
    pairs: FixtureSet;
    mixed: FixtureSet;
  };
}
