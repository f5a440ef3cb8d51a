// The face outline and what is drawn on it: marks, facial hair, eyes and brows, nose, mouth.
import {
  curve,
  ellipse,
  intersect,
  region,
  roundedRect,
  stroke,
  subtract,
  type Paint,
  type Shape,
} from './raster';
import { mixRgb, scaleRgb } from './colour';
import type { HeadPainter } from './head-painter';
import type { IdentityParams } from './identity';
import type { ImageVariation } from './variation';

/** Oval above the face centre; below it blended towards a squarer jaw (a 4-norm superellipse). */
export function faceShape(W: number, H: number, jaw: number): Shape {
  return region([-W, -H, W, H], (x, y) => {
    const u = x / W;
    const w = y / H;
    const u2 = u * u;
    const w2 = w * w;
    const oval = Math.sqrt(u2 + w2);
    const r = y < 0 ? oval : (1 - jaw) * oval + jaw * Math.sqrt(Math.sqrt(u2 * u2 + w2 * w2));
    return (r - 1) * W;
  });
}

export function drawMarks(
  head: HeadPainter,
  identity: IdentityParams,
  W: number,
  H: number,
  turnX: (x: number, z: number) => number,
): void {
  const skin = identity.skin;
  if (identity.blush > 0) {
    for (const side of [-1, 1]) {
      head.lit(
        ellipse(turnX(side * W * 0.5, 0.6), H * 0.28, W * 0.2, W * 0.13),
        mixRgb(skin, [0.85, 0.25, 0.3], 0.6),
        identity.blush,
      );
    }
  }
  const freckle = mixRgb(skin, [0.45, 0.25, 0.12], 0.55);
  for (let i = 0; i < identity.freckles.length; i += 2) {
    const x = turnX(identity.freckles[i] * W, 0.6);
    head.lit(ellipse(x, identity.freckles[i + 1] * H, W * 0.022, W * 0.022), freckle);
  }
  if (identity.mole) {
    const { x, y, r } = identity.mole;
    head.lit(ellipse(turnX(x * W, 0.5), y * H, r * W, r * W), [0.22, 0.12, 0.08]);
  }
  if (identity.scar) {
    const { x, y, angle } = identity.scar;
    const cx = turnX(x * W, 0.5);
    const dx = Math.cos(angle) * W * 0.15;
    const dy = Math.sin(angle) * W * 0.15;
    head.lit(
      stroke([cx - dx, y * H - dy, cx + dx, y * H + dy], W * 0.018),
      mixRgb(skin, [0.85, 0.55, 0.55], 0.6),
    );
  }
}

export function drawBeard(
  head: HeadPainter,
  identity: IdentityParams,
  hair: Paint,
  face: Shape,
  W: number,
  H: number,
  mouthX: number,
  mouthY: number,
  mouthHalf: number,
): void {
  const lips = ellipse(mouthX, mouthY, mouthHalf * 1.05, identity.lipThickness * W * 1.6);
  const moustache = stroke(
    curve(
      mouthX - mouthHalf * 1.1,
      mouthY - W * 0.02,
      mouthX,
      mouthY - W * 0.16,
      mouthX + mouthHalf * 1.1,
      mouthY - W * 0.02,
    ),
    W * 0.06,
  );
  switch (identity.beard) {
    case 'none':
      return;
    case 'moustache':
      head.lit(moustache, hair);
      return;
    case 'goatee':
      head.lit(subtract(ellipse(mouthX, H * 0.86, mouthHalf * 1.1, H * 0.24), lips), hair);
      head.lit(moustache, hair);
      return;
    case 'stubble':
    case 'full': {
      const top = identity.noseY * H + H * 0.08;
      const beard = subtract(
        region(face.bounds, (x, y) => Math.max(face.distance(x, y) - W * 0.04, top - y)),
        lips,
      );
      head.lit(beard, hair, identity.beard === 'full' ? 0.95 : 0.35);
      if (identity.beard === 'full') head.lit(moustache, hair);
    }
  }
}

export function drawEye(
  head: HeadPainter,
  identity: IdentityParams,
  v: ImageVariation,
  W: number,
  H: number,
  x: number,
  y: number,
  side: number,
  cosYaw: number,
): void {
  const ew = identity.eyeWidth * W * cosYaw;
  const eh = identity.eyeWidth * W * identity.eyeAspect * v.eyeOpen;
  const tilt = -side * identity.eyeTilt;
  const sclera = ellipse(x, y, ew, Math.max(eh, 0.5), tilt);
  if (v.eyeOpen > 0.2) {
    head.lit(sclera, [0.93, 0.91, 0.88]);
    const irisR = identity.eyeWidth * W * 0.52;
    const ix = x + v.gaze * ew * 0.35;
    head.lit(intersect(ellipse(ix, y, irisR * cosYaw, irisR), sclera), identity.iris);
    head.lit(intersect(ellipse(ix, y, irisR * 0.45, irisR * 0.45), sclera), [0.03, 0.03, 0.03]);
  }
  // Upper lid and lashes, then the crease above.
  const c = Math.cos(tilt);
  const s = Math.sin(tilt);
  const lid = curve(x - ew * c, y - ew * s, x, y - eh * 2 * c, x + ew * c, y + ew * s);
  head.lit(stroke(lid, W * 0.022), [0.08, 0.06, 0.05]);
  const open = identity.eyeWidth * W * identity.eyeAspect;
  head.lit(
    stroke(
      curve(x - ew * 0.9, y - open * 1.2, x, y - open * 2.4, x + ew * 0.9, y - open * 1.2),
      W * 0.012,
    ),
    scaleRgb(identity.skin, 0.75),
  );
  // Brow: inner end near the nose, outer end away from it.
  const L = identity.browLength * ew;
  const by = y - open - identity.browGap * W - v.browRaise * 0.04 * H;
  const ax = identity.browAngle * L * 0.3;
  const innerX = x - side * L * 0.5;
  const outerX = x + side * L * 0.6;
  head.lit(
    stroke(
      curve(
        innerX,
        by + ax,
        (innerX + outerX) / 2,
        by - identity.browArch * W * 2,
        outerX,
        by - ax,
      ),
      identity.browThickness * W,
    ),
    identity.browColour,
  );
}

export function drawNose(
  head: HeadPainter,
  identity: IdentityParams,
  W: number,
  H: number,
  tipX: number,
  tipY: number,
  bridgeX: number,
  eyeY: number,
  cosYaw: number,
): void {
  const skin = identity.skin;
  const half = identity.noseWidth * W * cosYaw * 0.5;
  head.lit(
    stroke(
      [bridgeX, eyeY, (bridgeX + tipX) / 2, (eyeY + tipY) / 2, tipX, tipY - H * 0.06],
      W * 0.05,
    ),
    scaleRgb(skin, 0.8),
    0.35 * identity.noseBridge,
  );
  head.lit(ellipse(tipX, tipY - H * 0.015, half * 1.1, H * 0.06), scaleRgb(skin, 1.08), 0.6);
  for (const side of [-1, 1]) {
    const nx = tipX + side * half;
    head.lit(
      stroke(
        curve(nx, tipY - H * 0.07, nx + side * half * 0.6, tipY, nx, tipY + H * 0.04),
        W * 0.014,
      ),
      scaleRgb(skin, 0.6),
    );
    head.lit(
      ellipse(nx - side * half * 0.3, tipY + H * 0.025, W * 0.045, W * 0.025),
      scaleRgb(skin, 0.3),
    );
  }
}

export function drawMouth(
  head: HeadPainter,
  identity: IdentityParams,
  v: ImageVariation,
  W: number,
  H: number,
  mx: number,
  my: number,
  corners: { x: number; y: number }[],
): void {
  const lip = identity.lipThickness * W;
  const [l, r] = corners;
  const line = curve(l.x, l.y, mx, my + v.smile * 0.06 * H, r.x, r.y);
  if (v.mouthOpen > 0) {
    const open = v.mouthOpen * 0.08 * H;
    head.flat(ellipse(mx, my + open * 0.5, (r.x - l.x) * 0.42, open), [0.15, 0.04, 0.05]);
    head.flat(
      intersect(
        ellipse(mx, my + open * 0.5, (r.x - l.x) * 0.42, open),
        roundedRect(mx - W, my - W, mx + W, my + open * 0.1, 0.5),
      ),
      [0.9, 0.88, 0.82],
    );
  }
  head.lit(stroke(curve(l.x, l.y, mx, my - lip * 1.1, r.x, r.y), lip * 0.55), identity.lips);
  head.lit(
    stroke(curve(l.x, l.y, mx, my + lip * 1.6 + v.mouthOpen * 0.08 * H, r.x, r.y), lip * 0.7),
    identity.lips,
  );
  head.lit(stroke(line, W * 0.02), scaleRgb(identity.lips, 0.35));
}
