/** One decoded image: interleaved RGB, row-major, height x width x 3. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Five facial points x1 y1 ... x5 y5 (eyes, nose tip, mouth corners), in pixels, 0-based. */
export type FivePoints = Float64Array;

export function checkRawImage(image: RawImage, who: string): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(
      `${who}: expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3} bytes but received ${image.data.length}`,
    );
  }
}
