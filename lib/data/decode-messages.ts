import type { TransformSpec } from './transforms/transform';

/** Messages between DecodePool and its workers. */
export interface DecodeRequest {
  chunk: number;
  specs: TransformSpec[];
  jobs: { index: number; path: string; landmarks?: number[]; bytes?: Uint8Array }[];
}

export type DecodeResultMessage =
  | { index: number; ok: true; data: Uint8Array; width: number; height: number }
  | { index: number; ok: false; error: string };

export interface DecodeReply {
  chunk: number;
  results: DecodeResultMessage[];
  fatal?: string;
}
