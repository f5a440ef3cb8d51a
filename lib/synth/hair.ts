// Hair: the layer behind the head (long, curly) and the one over the forehead and sides.
import { ellipse, region, roundedRect, type Paint, type Shape } from './raster';
import type { HeadPainter } from './head-painter';
import type { IdentityParams } from './identity';

export function hairPaint(identity: IdentityParams): Paint {
  const { angle, frequency, depth } = identity.hairTexture;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const [r, g, b] = identity.hair;
  return (x, y, out) => {
    const k = 1 + depth * Math.sin(frequency * (x * c + y * s));
    out[0] = r * k;
    out[1] = g * k;
    out[2] = b * k;
  };
}

export function drawBackHair(
  head: HeadPainter,
  identity: IdentityParams,
  hair: Paint,
  W: number,
  H: number,
  capCx: number,
): void {
  const volume = identity.hairVolume;
  if (identity.hairStyle === 'long') {
    const bottom = H * (0.3 + identity.hairLength);
    head.lit(
      roundedRect(
        capCx - W * (1.18 + volume),
        -H * 1.0,
        capCx + W * (1.18 + volume),
        bottom,
        W * 0.5,
      ),
      hair,
    );
  } else if (identity.hairStyle === 'curly') {
    const rx = W * (1.3 + volume);
    const ry = H * (1.1 + volume * 0.5);
    const bumps = 9 + Math.round(identity.hairTexture.frequency * 20);
    const base = ellipse(capCx, -H * 0.2, rx, ry);
    head.lit(
      region(
        [capCx - rx * 1.1, -H * 0.2 - ry * 1.1, capCx + rx * 1.1, -H * 0.2 + ry * 1.1],
        (x, y) => base.distance(x, y) + W * 0.06 * Math.sin(bumps * Math.atan2(y + H * 0.2, x)),
      ),
      hair,
    );
  }
}

export function drawFrontHair(
  head: HeadPainter,
  identity: IdentityParams,
  hair: Paint,
  cap: Shape,
  face: Shape,
  W: number,
  H: number,
  capCx: number,
): void {
  const sideY = identity.eyeY * H + H * 0.05;
  const outsideFace = (x: number, y: number) => Math.max(-face.distance(x, y), y - sideY);
  let hairline: (x: number) => number;
  switch (identity.hairStyle) {
    case 'bald':
      head.lit(
        region(cap.bounds, (x, y) =>
          Math.max(cap.distance(x, y), W * 0.8 - Math.abs(x - capCx), y - sideY, -H * 0.5 - y),
        ),
        hair,
      );
      return;
    case 'fringe':
      // Low, but above the eyes: a fringe may hide the brows, never the eyes.
      hairline = (x) => -H * (0.33 + 0.15 * identity.hairline) + W * 0.03 * Math.sin(x * 0.3);
      break;
    case 'sidePart': {
      const part = identity.hairPart * W;
      hairline = (x) =>
        -H * identity.hairline + (x - part) * 0.35 * Math.sign(identity.hairPart || 1);
      break;
    }
    case 'curly':
      hairline = (x) => -H * identity.hairline + W * 0.05 * Math.sin(x * 0.5);
      break;
    default: {
      // A rounded hairline with receding temples for crop, long and bun.
      hairline = (x) => -H * identity.hairline + ((x - capCx) / W) ** 2 * H * 0.12;
    }
  }
  head.lit(
    region(cap.bounds, (x, y) => {
      const inCap = cap.distance(x, y);
      // Far outside the cap nothing else matters (most of the bounding box).
      if (inCap > 2) return inCap;
      return Math.max(inCap, Math.min(y - hairline(x), outsideFace(x, y)));
    }),
    hair,
  );
  if (identity.hairStyle === 'bun') {
    head.lit(ellipse(capCx, -H * 1.08, W * 0.38, W * 0.32), hair);
  }
}
