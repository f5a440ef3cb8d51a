// The margin heads the fused margin-softmax op implements (see native/ops/margin_softmax.h).

/** SphereFace A-Softmax (integer m in 1..6, lambda >= 0, default 0), CosFace and ArcFace. */
export type MarginHead =
  | { kind: 'sphere'; m: number; lambda?: number }
  | { kind: 'cos'; m: number; scale: number }
  | { kind: 'arc'; m: number; scale: number };
