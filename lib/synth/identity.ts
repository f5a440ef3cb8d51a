// What makes one synthetic person recognisable: the parameters that stay fixed across all of
// their images. They are many and continuous (plus a few categorical styles), so that two
// random people rarely agree on all of them, and they are coarse enough (colours and shapes
// several pixels across at 96x96) for a small conv net to pick up.
import type { Rgb } from './raster';
import { Random } from '../util/random';

export const HAIR_STYLES = ['bald', 'crop', 'long', 'bun', 'fringe', 'curly', 'sidePart'] as const;
export type HairStyle = (typeof HAIR_STYLES)[number];
export const BEARD_STYLES = ['none', 'moustache', 'goatee', 'full', 'stubble'] as const;
export type BeardStyle = (typeof BEARD_STYLES)[number];

export interface IdentityParams {
  /** Face half-width in local units (about pixels at scale 1) and height / width ratio. */
  faceWidth: number;
  faceAspect: number;
  /** 0 = oval, 1 = wide, square jaw. */
  jaw: number;
  skin: Rgb;
  eyeY: number; // fractions of face half-height (y) or half-width (x), from the face centre
  eyeSpacing: number;
  eyeWidth: number;
  eyeAspect: number;
  eyeTilt: number;
  iris: Rgb;
  browGap: number;
  browThickness: number;
  browLength: number;
  browAngle: number;
  browArch: number;
  browColour: Rgb;
  noseY: number;
  noseWidth: number;
  noseBridge: number;
  mouthY: number;
  mouthWidth: number;
  lipThickness: number;
  lips: Rgb;
  earSize: number;
  hairStyle: HairStyle;
  hair: Rgb;
  hairline: number;
  hairVolume: number;
  hairLength: number;
  hairPart: number;
  hairTexture: { angle: number; frequency: number; depth: number };
  beard: BeardStyle;
  /** Distinctive marks: a mole, freckles, rosy cheeks, a scar. */
  mole: { x: number; y: number; r: number } | undefined;
  freckles: number[]; // x, y pairs (fractions of face size)
  blush: number;
  scar: { x: number; y: number; angle: number } | undefined;
}

const HAIR_PALETTE: Rgb[] = [
  [0.06, 0.05, 0.05], // black
  [0.18, 0.11, 0.07], // dark brown
  [0.38, 0.24, 0.13], // brown
  [0.55, 0.25, 0.1], // auburn
  [0.75, 0.38, 0.14], // ginger
  [0.85, 0.72, 0.42], // blonde
  [0.93, 0.89, 0.74], // platinum
  [0.55, 0.55, 0.55], // grey
  [0.88, 0.88, 0.86], // white
  [0.2, 0.3, 0.75], // dyed blue
  [0.75, 0.25, 0.55], // dyed pink
  [0.2, 0.55, 0.35], // dyed green
];

const IRIS_PALETTE: Rgb[] = [
  [0.25, 0.14, 0.06],
  [0.42, 0.26, 0.1],
  [0.25, 0.45, 0.75],
  [0.35, 0.55, 0.4],
  [0.5, 0.55, 0.6],
  [0.55, 0.45, 0.2],
];

function jitter(rng: Random, colour: Rgb, amount: number): Rgb {
  const clamp = (v: number) => Math.max(0, Math.min(1, v));
  const shift = rng.normal() * amount; // brightness
  return [
    clamp(colour[0] + shift + rng.normal() * amount * 0.5),
    clamp(colour[1] + shift + rng.normal() * amount * 0.5),
    clamp(colour[2] + shift + rng.normal() * amount * 0.5),
  ];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

export function sampleIdentity(rng: Random): IdentityParams {
  const tone = rng.next();
  const skin = jitter(rng, mix([0.3, 0.18, 0.12], [0.98, 0.82, 0.7], tone), 0.04);
  const hairStyle = rng.pick(HAIR_STYLES);
  const hair = jitter(rng, rng.pick(HAIR_PALETTE), 0.04);
  const browColour = hairStyle === 'bald' ? jitter(rng, rng.pick(HAIR_PALETTE), 0.04) : hair;
  const lips = jitter(
    rng,
    mix(mix(skin, [0.7, 0.2, 0.25], rng.uniform(0.25, 0.7)), [0, 0, 0], 0.15),
    0.03,
  );
  const freckles: number[] = [];
  if (rng.chance(0.2)) {
    const count = 8 + rng.int(14);
    for (let i = 0; i < count; i++) {
      const side = rng.chance(0.5) ? -1 : 1;
      freckles.push(side * rng.uniform(0.15, 0.6), rng.uniform(0.0, 0.35));
    }
  }
  return {
    faceWidth: rng.clippedNormal(66, 4),
    faceAspect: rng.clippedNormal(1.3, 0.08),
    jaw: rng.next(),
    skin,
    eyeY: rng.clippedNormal(-0.14, 0.05),
    eyeSpacing: rng.clippedNormal(0.42, 0.05),
    eyeWidth: rng.clippedNormal(0.17, 0.025),
    eyeAspect: rng.clippedNormal(0.52, 0.1),
    eyeTilt: rng.clippedNormal(0, 0.12),
    iris: jitter(rng, rng.pick(IRIS_PALETTE), 0.04),
    browGap: rng.clippedNormal(0.14, 0.04),
    browThickness: rng.uniform(0.025, 0.085),
    browLength: rng.clippedNormal(1.35, 0.2),
    browAngle: rng.clippedNormal(0, 0.18),
    browArch: rng.clippedNormal(0.06, 0.05),
    browColour,
    noseY: rng.clippedNormal(0.3, 0.05),
    noseWidth: rng.clippedNormal(0.17, 0.035),
    noseBridge: rng.uniform(0.2, 0.9),
    mouthY: rng.clippedNormal(0.58, 0.05),
    mouthWidth: rng.clippedNormal(0.32, 0.05),
    lipThickness: rng.uniform(0.03, 0.08),
    lips,
    earSize: rng.clippedNormal(0.22, 0.04),
    hairStyle,
    hair,
    hairline: rng.clippedNormal(0.55, 0.08),
    hairVolume: rng.uniform(0.02, 0.2),
    hairLength: rng.uniform(0.6, 1.8),
    hairPart: rng.uniform(-0.5, 0.5),
    hairTexture: {
      angle: rng.uniform(0, Math.PI),
      frequency: rng.uniform(0.15, 0.6),
      depth: rng.uniform(0, 0.25),
    },
    beard: rng.chance(0.35) ? rng.pick(BEARD_STYLES.slice(1)) : 'none',
    mole: rng.chance(0.3)
      ? { x: rng.uniform(-0.6, 0.6), y: rng.uniform(-0.2, 0.7), r: rng.uniform(0.025, 0.05) }
      : undefined,
    freckles,
    blush: rng.chance(0.3) ? rng.uniform(0.2, 0.5) : 0,
    scar: rng.chance(0.12)
      ? { x: rng.uniform(-0.5, 0.5), y: rng.uniform(-0.3, 0.4), angle: rng.uniform(0, Math.PI) }
      : undefined,
  };
}
