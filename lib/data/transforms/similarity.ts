// Least-squares 2-D similarity transforms, as MATLAB's cp2tform(input, base, 'similarity').
//
// cp2tform fits the *inverse* map, from the template (base) points xy to the image (input)
// points uv:  u = a x + b y + c,  v = -b x + a y + d,  solving [x y 1 0; y -x 0 1] r = [u; v]
// for r = (a, b, c, d) by least squares. 'similarity' (unlike 'nonreflective similarity') also
// fits the mirrored template (x -> -x) and keeps whichever forward map lands the image points
// closer to the template. The inverse map is what sampling needs: output pixel -> source pixel.

/** x' = m[0] x + m[1] y + m[2],  y' = m[3] x + m[4] y + m[5]. */
export type Affine = [number, number, number, number, number, number];

function solveNonreflective(uv: ArrayLike<number>, xy: ArrayLike<number>): Affine {
  // Normal equations of the 2M x 4 system; the columns make them small and well-conditioned
  // enough for points spread over a face.
  const ata = new Float64Array(16);
  const atb = new Float64Array(4);
  const m = uv.length / 2;
  for (let i = 0; i < m; i++) {
    const x = xy[2 * i];
    const y = xy[2 * i + 1];
    const rows: [number[], number][] = [
      [[x, y, 1, 0], uv[2 * i]],
      [[y, -x, 0, 1], uv[2 * i + 1]],
    ];
    for (const [row, rhs] of rows) {
      for (let r = 0; r < 4; r++) {
        atb[r] += row[r] * rhs;
        for (let c = 0; c < 4; c++) ata[r * 4 + c] += row[r] * row[c];
      }
    }
  }
  const [a, b, c, d] = solve4(ata, atb);
  // Inverse map (template -> image): u = a x + b y + c, v = -b x + a y + d.
  return [a, b, c, -b, a, d];
}

function solve4(a: Float64Array, b: Float64Array): number[] {
  // Gaussian elimination with partial pivoting on a copy.
  const m = Array.from({ length: 4 }, (_, r) => [
    a[r * 4],
    a[r * 4 + 1],
    a[r * 4 + 2],
    a[r * 4 + 3],
    b[r],
  ]);
  for (let col = 0; col < 4; col++) {
    let pivot = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r;
    if (Math.abs(m[pivot][col]) < 1e-12) {
      throw new Error(
        'FaceAlign: the landmarks are degenerate (all points coincide); no similarity transform fits them',
      );
    }
    [m[col], m[pivot]] = [m[pivot], m[col]];
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c < 5; c++) m[r][c] -= f * m[col][c];
    }
  }
  return m.map((row, i) => row[4] / row[i]);
}

export function invertAffine(t: Affine): Affine {
  const [a, b, c, d, e, f] = t;
  const det = a * e - b * d;
  if (det === 0) throw new Error('FaceAlign: singular transform');
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

export function applyAffine(t: Affine, x: number, y: number): [number, number] {
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

function residual(forward: Affine, uv: ArrayLike<number>, xy: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < uv.length / 2; i++) {
    const [x, y] = applyAffine(forward, uv[2 * i], uv[2 * i + 1]);
    sum += (x - xy[2 * i]) ** 2 + (y - xy[2 * i + 1]) ** 2;
  }
  return sum;
}

/**
 * The similarity mapping image points `uv` onto template points `xy` (cp2tform 'similarity').
 * Returns both directions: `forward` image -> template, `inverse` template -> image.
 */
export function fitSimilarity(
  uv: ArrayLike<number>,
  xy: ArrayLike<number>,
): { forward: Affine; inverse: Affine } {
  if (uv.length !== xy.length || uv.length < 4 || uv.length % 2 !== 0) {
    throw new Error(
      `fitSimilarity: expected two equal lists of at least 2 points but received ${uv.length / 2} and ${xy.length / 2}`,
    );
  }
  const inverse1 = solveNonreflective(uv, xy);
  const forward1 = invertAffine(inverse1);
  const mirrored = Float64Array.from(xy, (v, i) => (i % 2 === 0 ? -v : v));
  const inverse2r = solveNonreflective(uv, mirrored);
  // The fit was to the mirrored template; compose with x -> -x to map the real template.
  const inverse2: Affine = [
    -inverse2r[0],
    inverse2r[1],
    inverse2r[2],
    -inverse2r[3],
    inverse2r[4],
    inverse2r[5],
  ];
  const forward2 = invertAffine(inverse2);
  return residual(forward1, uv, xy) <= residual(forward2, uv, xy)
    ? { forward: forward1, inverse: inverse1 }
    : { forward: forward2, inverse: inverse2 };
}
