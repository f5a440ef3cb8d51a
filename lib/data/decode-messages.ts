import type { TransformSpec } from './transforms/transform';

/** A chunk of images for a DecodePool worker. */
export interface DecodeRequest {
  specs: TransformSpec[];
  /** Images over this many pixels are refused before decoding. */
  maxPixels: number;
  jobs: { index: number; path: string; landmarks?: number[]; bytes?: Uint8Array }[];
}

export type DecodeResultMessage =
  | { index: number; ok: true; data: Uint8Array; width: number; height: number }
  | { index: number; ok: false; error: string };

/** One outcome per image of the chunk: a bad image is an outcome, not a failed task. */
export interface DecodeReply {
  results: DecodeResultMessage[];
}
