// Draws one photo of one synthetic person: identity parameters + per-image variation in,
// 250x250 RGB pixels and the five landmarks (eye centres, nose tip, mouth corners) out.
// Everything of the head is drawn in a local frame centred on the face (y down, units of
// pixels at scale 1) and mapped by the pose's similarity transform; head turns move the inner
// features sideways by their depth (a cheap stand-in for yaw).
import {
  Canvas,
  curve,
  ellipse,
  IDENTITY_TRANSFORM,
  intersect,
  region,
  roundedRect,
  stroke,
  subtract,
  union,
  type Paint,
  type Rgb,
  type Shading,
  type Shape,
  type Similarity,
} from './canvas';
import type { IdentityParams } from './identity';
import type { ImageVariation } from './variation';

export const IMAGE_SIZE = 250;

export interface RenderedFace {
  /** IMAGE_SIZE x IMAGE_SIZE x 3, RGB. */
  rgb: Uint8Array;
  width: number;
  height: number;
  /**
   * x1 y1 ... x5 y5 in pixel coordinates (pixel i's centre at i): the eye on the image's left,
   * the other eye, the nose tip, the left and right mouth corners, as the public LFW lists.
   */
  landmarks: number[];
}

const scaleRgb = (c: Rgb, k: number): Rgb => [c[0] * k, c[1] * k, c[2] * k];
const mixRgb = (a: Rgb, b: Rgb, t: number): Rgb => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
];

function hairPaint(identity: IdentityParams): Paint {
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

/** Anything drawn on the head: a shape in the local frame, lit by the image's light. */
class HeadPainter {
  constructor(
    private readonly canvas: Canvas,
    private readonly transform: Similarity,
    private readonly shading: Shading,
  ) {}

  lit(shape: Shape, paint: Paint, opacity = 1): void {
    this.canvas.fill(shape, paint, this.transform, { shading: this.shading, opacity });
  }

  flat(shape: Shape, paint: Paint, opacity = 1): void {
    this.canvas.fill(shape, paint, this.transform, { opacity });
  }
}

export function renderFace(identity: IdentityParams, v: ImageVariation): RenderedFace {
  const size = IMAGE_SIZE;
  const canvas = new Canvas(size, size);
  const W = identity.faceWidth;
  const H = W * identity.faceAspect;
  const cosYaw = Math.cos(v.yaw);
  const sinYaw = Math.sin(v.yaw);
  // Where a point of the face at depth z (fractions of W, towards the camera) appears.
  const turnX = (x: number, z: number) => x * cosYaw + z * W * sinYaw;
  const nodY = (y: number, z: number) => y + v.pitch * H * z;

  const s = v.scale;
  const transform: Similarity = {
    a: s * Math.cos(v.roll),
    b: s * Math.sin(v.roll),
    tx: size / 2 + v.shiftX,
    ty: size / 2 + 6 + v.shiftY,
  };

  // Lambertian light on an ellipsoid around the head.
  const [lx, ly, lz] = v.light;
  const shading: Shading = (x, y) => {
    let u = x / (W * 1.15);
    let w = y / (H * 1.15);
    const r2 = u * u + w * w;
    if (r2 > 0.97) {
      const k = Math.sqrt(0.97 / r2);
      u *= k;
      w *= k;
    }
    const nz = Math.sqrt(Math.max(0, 1 - u * u - w * w));
    return v.ambient + v.diffuse * Math.max(0, u * lx + w * ly + nz * lz);
  };
  const head = new HeadPainter(canvas, transform, shading);

  drawBackground(canvas, v);

  // Neck and shoulders.
  head.lit(
    roundedRect(-W * 0.45, H * 0.3, W * 0.45, H * 1.6, W * 0.2),
    scaleRgb(identity.skin, 0.8),
  );
  head.lit(ellipse(0, H * 1.25 + W * 0.95, W * 2.3, W * 0.95), v.clothing);

  const hair = hairPaint(identity);
  const capCx = turnX(0, -0.15);
  const cap = ellipse(
    capCx,
    -H * 0.12,
    W * (1.06 + identity.hairVolume * 0.5),
    H * (0.98 + identity.hairVolume),
  );
  drawBackHair(head, identity, hair, W, H, capCx);

  // Ears sit behind the face outline; a turned head hides the far one.
  for (const side of [-1, 1]) {
    const ex = turnX(side * W * 0.97, -0.2);
    const ey = identity.eyeY * H + H * 0.12;
    head.lit(
      ellipse(ex, ey, identity.earSize * W * 0.55, identity.earSize * W, side * 0.15),
      scaleRgb(identity.skin, 0.92),
    );
  }

  const face = faceShape(W, H, identity.jaw);
  head.lit(face, identity.skin);

  drawMarks(head, identity, W, H, turnX);

  const eyeY = nodY(identity.eyeY * H, 0.6);
  const eyes = [-1, 1].map((side) => ({
    side,
    x: turnX(side * identity.eyeSpacing * W, 0.55),
    y: eyeY,
  }));
  const noseTip = { x: turnX(0, 1), y: nodY(identity.noseY * H, 1) };
  const mouthX = turnX(0, 0.75);
  const mouthY = nodY(identity.mouthY * H, 0.75);
  const mouthHalf = identity.mouthWidth * W * cosYaw * (1 + 0.15 * v.smile);
  const cornerY = mouthY - v.smile * 0.05 * H;
  const corners = [
    { x: mouthX - mouthHalf, y: cornerY },
    { x: mouthX + mouthHalf, y: cornerY },
  ];

  drawBeard(head, identity, hair, face, W, H, mouthX, mouthY, mouthHalf);
  for (const eye of eyes) drawEye(head, identity, v, W, H, eye.x, eye.y, eye.side, cosYaw);
  drawNose(head, identity, W, H, noseTip.x, noseTip.y, turnX(0, 0.7), eyeY, cosYaw);
  drawMouth(head, identity, v, W, H, mouthX, mouthY, corners);
  drawFrontHair(head, identity, hair, cap, face, W, H, capCx);
  drawOccluders(canvas, head, v, identity, W, H, eyes, noseTip, mouthY, face);

  const rgb = developPhoto(canvas, v);
  const landmarks: number[] = [];
  for (const p of [eyes[0], eyes[1], noseTip, corners[0], corners[1]]) {
    landmarks.push(
      transform.a * p.x - transform.b * p.y + transform.tx - 0.5,
      transform.b * p.x + transform.a * p.y + transform.ty - 0.5,
    );
  }
  return { rgb, width: size, height: size, landmarks };
}

/** Oval above the face centre; below it blended towards a squarer jaw (a 4-norm superellipse). */
function faceShape(W: number, H: number, jaw: number): Shape {
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

function drawBackground(canvas: Canvas, v: ImageVariation): void {
  const { from, to, angle, clutter } = v.background;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const size = canvas.width;
  const data = canvas.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = Math.max(0, Math.min(1, ((x - size / 2) * c + (y - size / 2) * s) / size + 0.5));
      const o = (y * size + x) * 3;
      data[o] = from[0] + (to[0] - from[0]) * t;
      data[o + 1] = from[1] + (to[1] - from[1]) * t;
      data[o + 2] = from[2] + (to[2] - from[2]) * t;
    }
  }
  for (const item of clutter) {
    const shape = item.box
      ? roundedRect(item.x - item.rx, item.y - item.ry, item.x + item.rx, item.y + item.ry, 4)
      : ellipse(item.x, item.y, item.rx, item.ry, item.angle);
    canvas.fill(shape, item.colour, IDENTITY_TRANSFORM);
  }
}

function drawBackHair(
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

function drawFrontHair(
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

function drawMarks(
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

function drawBeard(
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

function drawEye(
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

function drawNose(
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

function drawMouth(
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

function drawOccluders(
  canvas: Canvas,
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

/** Camera response: colour gain and tint, contrast, gamma, sensor noise, 8-bit quantisation. */
function developPhoto(canvas: Canvas, v: ImageVariation): Uint8Array {
  const data = canvas.data;
  const out = new Uint8Array(data.length);
  // The tone curve per channel as a table over [0, 2) in steps of 1/1024: Math.pow per
  // sample costs more than all the drawing.
  const steps = 2048;
  const curves = [0, 1, 2].map((c) => {
    const table = new Float32Array(steps + 1);
    const gain = v.gain[c] * v.lightTint[c];
    for (let i = 0; i <= steps; i++) {
      const x = ((i / steps) * 2 * gain - 0.5) * v.contrast + 0.5;
      table[i] = Math.pow(Math.max(0, Math.min(1, x)), v.gamma) * 255;
    }
    return table;
  });
  // Noise: the two 16-bit halves of one xorshift32 draw, summed (bell-shaped, sd 1 / sqrt(6)).
  let state = v.noiseSeed | 1;
  const noise = ((v.noise * Math.sqrt(6) * 255) / 65536) as number;
  for (let i = 0; i < data.length; i++) {
    const table = curves[i % 3];
    const index = Math.min(steps, Math.max(0, Math.round(data[i] * (steps / 2))));
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const draw = (state & 0xffff) + (state >>> 16) - 65535;
    const x = table[index] + noise * draw;
    out[i] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
  }
  return out;
}
