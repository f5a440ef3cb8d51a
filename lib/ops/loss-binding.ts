// The native side of the fused margin-softmax op, as lib/native.ts loads it.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface LossBinding {}
