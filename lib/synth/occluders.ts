// Things in front of the face in one photo: glasses, sunglasses, hats, hands, masks, bars.
import {
  Raster,
  ellipse,
  IDENTITY_TRANSFORM,
  intersect,
  region,
  roundedRect,
  stroke,
  subtract,
  union,
  type Shape,
} from './raster';
import { mixRgb, scaleRgb } from './colour';
import type { HeadPainter } from './head-painter';
import type { IdentityParams } from './identity';
import type { ImageVariation } from './variation';

export function drawOccluders(
  canvas: Raster,
  head: HeadPainter,
  v: ImageVariation,
  identity: IdentityParams,
  W: number,
  H: number,
  eyes: { x: number; y: number }[],
  noseTip: { x: number; y: number },
  mouthY: number,
  face: Shape,
): void {
  const r = identity.eyeWidth * W * 1.5;
  for (const item of v.occluders) {
    switch (item.kind) {
      case 'glasses':
      case 'sunglasses': {
        const frame = scaleRgb(item.colour, 0.5);
        for (const eye of eyes) {
          const outer = roundedRect(
            eye.x - r,
            eye.y - r * 0.7,
            eye.x + r,
            eye.y + r * 0.75,
            r * 0.45,
          );
          if (item.kind === 'sunglasses') head.flat(outer, [0.05, 0.05, 0.07], 0.93);
          const inner = roundedRect(
            eye.x - r + W * 0.04,
            eye.y - r * 0.7 + W * 0.04,
            eye.x + r - W * 0.04,
            eye.y + r * 0.75 - W * 0.04,
            r * 0.4,
          );
          head.lit(subtract(outer, inner), frame);
        }
        head.lit(
          stroke(
            [eyes[0].x + r, eyes[0].y - r * 0.2, eyes[1].x - r, eyes[1].y - r * 0.2],
            W * 0.025,
          ),
          frame,
        );
        break;
      }
      case 'hat': {
        const brimY = -H * (0.5 + 0.08 * item.y);
        const crown = intersect(
          ellipse(0, brimY, W * 1.1, H * 0.65),
          roundedRect(-W * 1.2, brimY - H, W * 1.2, brimY, 1),
        );
        head.lit(
          union(
            crown,
            roundedRect(-W * 1.45, brimY - W * 0.06, W * 1.45, brimY + W * 0.08, W * 0.05),
          ),
          item.colour,
        );
        break;
      }
      case 'hand': {
        const hx = item.x * W * 0.6;
        const hy = H * (0.45 + 0.25 * item.y);
        const tone = mixRgb([0.3, 0.18, 0.12], [0.98, 0.82, 0.7], (item.colour[0] + 1) / 2.2);
        head.lit(ellipse(hx, hy + W * 0.3, W * 0.38, W * 0.45, item.angle * 0.5), tone);
        for (let f = 0; f < 4; f++) {
          const fx = hx + (f - 1.5) * W * 0.17;
          head.lit(
            stroke(
              [
                fx,
                hy + W * 0.2,
                fx + item.angle * W * 0.3,
                hy - W * 0.35 + Math.abs(f - 1.5) * W * 0.08,
              ],
              W * 0.075,
            ),
            tone,
          );
        }
        break;
      }
      case 'mask': {
        const top = noseTip.y - H * 0.08;
        head.lit(
          region(face.bounds, (x, y) =>
            Math.max(face.distance(x, y) - W * 0.03, top - y, y - mouthY - H * 0.35),
          ),
          item.colour,
        );
        break;
      }
      case 'bar': {
        const cx = canvas.width / 2 + item.x * 100;
        const dx = Math.sin(item.angle) * 200;
        const dy = Math.cos(item.angle) * 200;
        canvas.fill(
          stroke(
            [
              cx - dx,
              canvas.height / 2 + item.y * 60 - dy,
              cx + dx,
              canvas.height / 2 + item.y * 60 + dy,
            ],
            5 + 5 * Math.abs(item.y),
          ),
          item.colour,
          IDENTITY_TRANSFORM,
        );
        break;
      }
    }
  }
}
