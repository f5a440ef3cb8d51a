import { fitSimilarity, type Affine } from './similarity';
import {
  checkOutputPixels,
  positiveInteger,
  type DeterministicTransform,
  type TransformSpec,
} from './transform';
import type { FivePoints, RawImage } from './raw-image';
import { expectOptions } from '../../util/option-keys';

/** SphereFace's 96x112 template: left eye, right eye, nose tip, left and right mouth corners. */
export const SPHEREFACE_TEMPLATE: readonly number[] = [
  30.2946, 51.6963, 65.5318, 51.5014, 48.0252, 71.7366, 33.5493, 92.3655, 62.7299, 92.2041,
];

export interface FaceAlignOptions {
  width?: number; // default 96
  height?: number; // default 112
  template?: readonly number[]; // x1 y1 ... x5 y5 in output pixels
}

/** Whether a bad image's reason is FaceAlign's (the image decoded; its points did not fit). */
export function isAlignmentFailure(reason: string): boolean {
  return reason.startsWith('FaceAlign: ');
}

/**
 * Warps a face so its five landmarks land on the template: the least-squares similarity of
 * MATLAB's cp2tform 'similarity' (see similarity.ts), bilinear sampling, black outside the
 * source. Coordinates are pixel indices (pixel centres at integers) in both images, so
 * 1-based MATLAB landmarks with the 1-based template give the same crop.
 */
export class FaceAlign implements DeterministicTransform {
  readonly random = false;
  readonly width: number;
  readonly height: number;
  readonly template: number[];

  constructor(options: FaceAlignOptions = {}) {
    expectOptions<FaceAlignOptions>(options, 'FaceAlign options', {
      width: true,
      height: true,
      template: true,
    });
    this.width = positiveInteger(options.width ?? 96, 'width', 'FaceAlign');
    this.height = positiveInteger(options.height ?? 112, 'height', 'FaceAlign');
    checkOutputPixels(this.height, this.width, 'height x width', 'FaceAlign');
    const template = options.template ?? SPHEREFACE_TEMPLATE;
    if (template.length !== 10 || !template.every(Number.isFinite)) {
      throw new Error(
        `FaceAlign: expected 10 finite numbers for template but received ${template.length}`,
      );
    }
    this.template = [...template];
  }

  spec(): TransformSpec {
    return { kind: 'face-align', width: this.width, height: this.height, template: this.template };
  }

  /** The template -> image map for these landmarks (what sampling uses). */
  inverseMap(landmarks: FivePoints): Affine {
    return fitSimilarity(landmarks, this.template).inverse;
  }

  apply(image: RawImage, landmarks?: FivePoints): RawImage {
    if (!landmarks || landmarks.length !== 10) {
      throw new Error(
        'FaceAlign: this image has no five-point landmarks (give a landmark file or a list with landmarks)',
      );
    }
    checkFacePoints(landmarks, image);
    return warpAffineBilinear(image, this.inverseMap(landmarks), this.width, this.height);
  }
}

/**
 * Refuses points that locate no face in `image`: a number that is not finite, all five within a
 * pixel of each other (the fit would shrink a speck to the whole crop), none inside the image
 * (the crop would be black), or one far outside it.
 */
function checkFacePoints(points: FivePoints, image: RawImage): void {
  const list = () => Array.from(points, (v) => +v.toFixed(2)).join(' ');
  if (!Array.from(points).every(Number.isFinite)) {
    throw new Error(`FaceAlign: the face points (${list()}) are not 10 finite numbers`);
  }
  let [cx, cy] = [0, 0];
  for (let i = 0; i < 10; i += 2) [cx, cy] = [cx + points[i] / 5, cy + points[i + 1] / 5];
  let spread = 0;
  for (let i = 0; i < 10; i += 2) spread += (points[i] - cx) ** 2 + (points[i + 1] - cy) ** 2;
  if (Math.sqrt(spread / 5) < 1) {
    throw new Error(
      `FaceAlign: the five face points (${list()}) lie within a pixel of each other; they locate no face`,
    );
  }
  let inside = false;
  for (let i = 0; i < 10; i += 2) {
    const [x, y] = [points[i], points[i + 1]];
    inside ||= x >= 0 && x <= image.width - 1 && y >= 0 && y <= image.height - 1;
  }
  if (!inside) {
    throw new Error(
      `FaceAlign: none of the five face points (${list()}) lies inside the ${image.width}x${image.height} image`,
    );
  }
  // A face cut by the frame has points just past the edge; one farther out than the image's own
  // size is a wrong number, and would stretch the fit until the crop held no pixel of the photo.
  for (let i = 0; i < 10; i += 2) {
    const [x, y] = [points[i], points[i + 1]];
    const { width: w, height: h } = image;
    if (!(x >= -w && x <= 2 * w - 1 && y >= -h && y <= 2 * h - 1)) {
      throw new Error(
        `FaceAlign: face point ${i / 2 + 1} of (${list()}) lies farther outside the ${w}x${h} ` +
          "image than the image's own size; the points locate no face in it",
      );
    }
  }
}

/** out(x, y) = bilinear sample of `image` at inverse(x, y); zero outside. */
export function warpAffineBilinear(
  image: RawImage,
  inverse: Affine,
  outW: number,
  outH: number,
): RawImage {
  const out = new Uint8Array(outW * outH * 3);
  const src = image.data;
  const w = image.width;
  const h = image.height;
  const [a, b, c, d, e, f] = inverse;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += 3) {
      const sx = a * x + b * y + c;
      const sy = d * x + e * y + f;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) continue;
      // Out-of-image neighbours count as black, like imtransform's zero fill.
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const in0 = y0 >= 0;
      const in1 = y0 + 1 < h;
      const ix0 = x0 >= 0;
      const ix1 = x0 + 1 < w;
      for (let ch = 0; ch < 3; ch++) {
        let v = 0;
        if (in0 && ix0) v += w00 * src[(y0 * w + x0) * 3 + ch];
        if (in0 && ix1) v += w01 * src[(y0 * w + x0 + 1) * 3 + ch];
        if (in1 && ix0) v += w10 * src[((y0 + 1) * w + x0) * 3 + ch];
        if (in1 && ix1) v += w11 * src[((y0 + 1) * w + x0 + 1) * 3 + ch];
        out[o + ch] = v + 0.5; // Uint8Array store truncates; +0.5 rounds (v >= 0)
      }
    }
  }
  return { data: out, width: outW, height: outH };
}
