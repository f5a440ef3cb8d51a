import { CenterCrop } from './center-crop';
import { FaceAlign } from './face-align';
import { Resize, ResizeToCover } from './resize';
import type { DeterministicTransform, TransformSpec } from './transform';

/** Rebuilds a transform from its spec (decode workers receive specs, not class instances). */
export function transformFromSpec(spec: TransformSpec): DeterministicTransform {
  switch (spec.kind) {
    case 'resize':
      return new Resize(spec.size);
    case 'resize-to-cover':
      return new ResizeToCover(spec.height, spec.width);
    case 'center-crop':
      return new CenterCrop([spec.height, spec.width]);
    case 'face-align':
      return new FaceAlign({ width: spec.width, height: spec.height, template: spec.template });
  }
}
