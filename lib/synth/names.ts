// Made-up person names in the LFW spelling (`First_Last`), unique within one generated set.
import { Random } from '../util/random';

const ONSETS = [
  'b',
  'd',
  'f',
  'g',
  'h',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'z',
  'br',
  'ch',
  'st',
  'th',
  'tr',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou'];
const CODAS = ['', '', '', 'n', 'r', 's', 'l', 'th', 'x', 'nd'];

function word(rng: Random, syllables: number): string {
  let text = '';
  for (let i = 0; i < syllables; i++) text += rng.pick(ONSETS) + rng.pick(VOWELS);
  text += rng.pick(CODAS);
  return text[0].toUpperCase() + text.slice(1);
}

/** `count` distinct names drawn from the stream keyed by `key`. */
export function makeNames(count: number, ...key: number[]): string[] {
  const rng = new Random(...key);
  const names = new Set<string>();
  while (names.size < count) {
    names.add(`${word(rng, 1 + rng.int(2))}_${word(rng, 2 + rng.int(2))}`);
  }
  return [...names];
}
