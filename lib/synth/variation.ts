// What changes from one photo of a person to the next: pose, framing, light, camera, expression,
// background and things in front of the face. None of it depends on who the person is, and it
// is strong enough that raw pixels of two photos of one person are poor evidence of identity.
import type { Rgb } from './raster';
import { Random } from '../util/random';

export const OCCLUDERS = ['glasses', 'sunglasses', 'hat', 'hand', 'bar', 'mask'] as const;
export type Occluder = (typeof OCCLUDERS)[number];

export interface ImageVariation {
  /** Head turn (radians, + = towards the image's right), nod (fraction of face height). */
  yaw: number;
  pitch: number;
  /** In-plane rotation (radians), scale, and shift of the face centre from (125, 125) in pixels. */
  roll: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  /** Light direction (unit vector, z towards the camera), ambient and diffuse strengths, tint. */
  light: [number, number, number];
  ambient: number;
  diffuse: number;
  lightTint: Rgb;
  /** Camera: per-channel gain, contrast, gamma, sensor noise standard deviation (0..1 scale). */
  gain: Rgb;
  contrast: number;
  gamma: number;
  noise: number;
  /** Expression. */
  smile: number;
  mouthOpen: number;
  eyeOpen: number;
  browRaise: number;
  gaze: number;
  /** Background: gradient between two colours at an angle, plus clutter shapes. */
  background: { from: Rgb; to: Rgb; angle: number; clutter: Clutter[] };
  clothing: Rgb;
  occluders: { kind: Occluder; colour: Rgb; x: number; y: number; angle: number }[];
  /** Seeds the sensor noise stream. */
  noiseSeed: number;
}

export interface Clutter {
  x: number;
  y: number;
  rx: number;
  ry: number;
  angle: number;
  colour: Rgb;
  box: boolean;
}

export interface VariationOptions {
  /** 0 = a frontal, evenly lit, unoccluded studio photo; 1 = the full nuisance range. */
  strength?: number;
  /** Leave out occluders (used by tests that look at the drawn features). */
  occluders?: boolean;
}

function colour(rng: Random): Rgb {
  return [rng.next(), rng.next(), rng.next()];
}

export function sampleVariation(rng: Random, options: VariationOptions = {}): ImageVariation {
  const k = options.strength ?? 1;
  const elevation = rng.uniform(-0.3, 0.9);
  const azimuth = rng.uniform(-Math.PI, Math.PI);
  const spread = rng.uniform(0.2, 1) * k;
  const light: [number, number, number] = [
    Math.sin(azimuth) * spread,
    -Math.cos(azimuth) * spread * elevation,
    1,
  ];
  const norm = Math.hypot(...light);
  const clutter: Clutter[] = [];
  const clutterCount = k > 0 ? rng.int(7) : 0;
  for (let i = 0; i < clutterCount; i++) {
    clutter.push({
      x: rng.uniform(0, 250),
      y: rng.uniform(0, 250),
      rx: rng.uniform(10, 70),
      ry: rng.uniform(10, 70),
      angle: rng.uniform(0, Math.PI),
      colour: colour(rng),
      box: rng.chance(0.5),
    });
  }
  const occluders: ImageVariation['occluders'] = [];
  if (options.occluders !== false && k > 0) {
    for (const [kind, p] of [
      ['glasses', 0.15],
      ['sunglasses', 0.06],
      ['hat', 0.1],
      ['hand', 0.08],
      ['bar', 0.08],
      ['mask', 0.04],
    ] as const) {
      if (rng.chance(p * k)) {
        occluders.push({
          kind,
          colour: colour(rng),
          x: rng.uniform(-1, 1),
          y: rng.uniform(-1, 1),
          angle: rng.uniform(-0.6, 0.6),
        });
      }
    }
  }
  const gray = rng.uniform(0.1, 0.9);
  const tint = (amount: number): Rgb => [
    1 + rng.uniform(-amount, amount) * k,
    1 + rng.uniform(-amount, amount) * k,
    1 + rng.uniform(-amount, amount) * k,
  ];
  return {
    yaw: rng.uniform(-0.6, 0.6) * k,
    pitch: rng.uniform(-0.08, 0.08) * k,
    roll: rng.clippedNormal(0, 0.1 * k),
    scale: 1 + rng.uniform(-0.12, 0.12) * k,
    shiftX: rng.uniform(-16, 16) * k,
    shiftY: rng.uniform(-12, 12) * k,
    light: [light[0] / norm, light[1] / norm, light[2] / norm],
    ambient: 0.55 + rng.uniform(-0.2, 0.15) * k,
    diffuse: 0.55 + rng.uniform(-0.2, 0.2) * k,
    lightTint: tint(0.06),
    gain: tint(0.06),
    contrast: 1 + rng.uniform(-0.25, 0.2) * k,
    gamma: 1 + rng.uniform(-0.25, 0.25) * k,
    noise: rng.uniform(0, 0.035) * k,
    smile: rng.uniform(-0.3, 1) * k,
    mouthOpen: rng.chance(0.3 * k) ? rng.uniform(0.2, 1) : 0,
    eyeOpen: rng.chance(0.05 * k) ? 0.12 : 1 - rng.uniform(0, 0.4) * k,
    browRaise: rng.uniform(-0.5, 1) * k,
    gaze: rng.uniform(-0.5, 0.5) * k,
    background:
      k > 0
        ? { from: colour(rng), to: colour(rng), angle: rng.uniform(0, 2 * Math.PI), clutter }
        : { from: [gray, gray, gray], to: [gray, gray, gray], angle: 0, clutter },
    clothing: colour(rng),
    occluders,
    noiseSeed: rng.nextUint32(),
  };
}
