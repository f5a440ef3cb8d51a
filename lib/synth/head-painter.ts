// Paints shapes given in the face's local frame, lit by the photo's light or flat.
import { Raster, type Paint, type Shading, type Shape, type Similarity } from './raster';

/** Anything drawn on the head: a shape in the local frame, lit by the image's light. */
export class HeadPainter {
  constructor(
    private readonly canvas: Raster,
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
