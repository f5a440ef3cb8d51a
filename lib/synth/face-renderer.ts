// Draws one photo of one synthetic person: identity parameters + per-image variation in,
// 250x250 RGB pixels and the five landmarks (eye centres, nose tip, mouth corners) out.
// Everything of the head is drawn in a local frame centred on the face (y down, units of
// pixels at scale 1) and mapped by the pose's similarity transform; head turns move the inner
// features sideways by their depth (a cheap stand-in for yaw).
import { Raster, ellipse, roundedRect, type Shading, type Similarity } from './raster';
import { scaleRgb } from './colour';
import { drawBeard, drawEye, drawMarks, drawMouth, drawNose, faceShape } from './facial-features';
import { drawBackHair, drawFrontHair, hairPaint } from './hair';
import { HeadPainter } from './head-painter';
import type { IdentityParams } from './identity';
import { drawOccluders } from './occluders';
import { developPhoto, drawBackground } from './photo';
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

export function renderFace(identity: IdentityParams, v: ImageVariation): RenderedFace {
  const size = IMAGE_SIZE;
  const canvas = new Raster(size, size);
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
