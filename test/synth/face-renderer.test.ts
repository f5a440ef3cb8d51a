import { expect } from 'chai';
import { renderFace, type RenderedFace } from '../../lib/synth/face-renderer';
import { sampleIdentity } from '../../lib/synth/identity';
import { Random } from '../../lib/util/random';
import { sampleVariation } from '../../lib/synth/variation';

/** Rec. 601 luma of the pixel containing the point (x, y) (pixel i's centre at i). */
function luma(face: RenderedFace, x: number, y: number): number {
  const o = (Math.round(y) * face.width + Math.round(x)) * 3;
  return 0.299 * face.rgb[o] + 0.587 * face.rgb[o + 1] + 0.114 * face.rgb[o + 2];
}

/** Log luma of the 5x5 patch mean around (x, y): skin tone, with lighting as a shift. */
function logLuma(face: RenderedFace, x: number, y: number): number {
  let sum = 0;
  for (let dy = -2; dy <= 2; dy++) {
    for (let dx = -2; dx <= 2; dx++) sum += luma(face, x + dx, y + dy);
  }
  return Math.log(sum / 25 + 1);
}

/** A point on the cheek: between the left eye and the left mouth corner. */
function cheek(face: RenderedFace): [number, number] {
  const [lex, ley, , , , , lmx, lmy] = face.landmarks;
  return [(lex + lmx) / 2, (ley + lmy) / 2];
}

describe('renderFace', () => {
  it('draws the pupils at the eye landmarks and the dark mouth line at the corners', () => {
    for (let person = 0; person < 12; person++) {
      const identity = sampleIdentity(new Random(3, person));
      const face = renderFace(identity, sampleVariation(new Random(4, person), { strength: 0 }));
      const skin = luma(face, ...cheek(face));
      const [lex, ley, rex, rey, , , lmx, lmy, rmx, rmy] = face.landmarks;
      // The pupil is near black whatever the skin; the mouth line is a darkened lip colour.
      expect(luma(face, lex, ley), `person ${person} left eye`).to.be.below(0.35 * skin);
      expect(luma(face, rex, rey), `person ${person} right eye`).to.be.below(0.35 * skin);
      expect(luma(face, lmx, lmy), `person ${person} left corner`).to.be.below(0.8 * skin);
      expect(luma(face, rmx, rmy), `person ${person} right corner`).to.be.below(0.8 * skin);
    }
  });

  it('moves the landmarks with the face when the photo is shifted, scaled and turned', () => {
    const identity = sampleIdentity(new Random(5, 0));
    const base = sampleVariation(new Random(6, 0), { strength: 0 });
    const still = renderFace(identity, base);
    const moved = renderFace(identity, { ...base, shiftX: 10, shiftY: -6, scale: 1.1, roll: 0.2 });
    // Independent prediction: the similarity about the face centre (125, 131) applied to `still`.
    const [c, s] = [Math.cos(0.2) * 1.1, Math.sin(0.2) * 1.1];
    for (let k = 0; k < 10; k += 2) {
      const x = still.landmarks[k] + 0.5 - 125;
      const y = still.landmarks[k + 1] + 0.5 - 131;
      expect(moved.landmarks[k]).to.be.closeTo(c * x - s * y + 135 - 0.5, 1e-9);
      expect(moved.landmarks[k + 1]).to.be.closeTo(s * x + c * y + 125 - 0.5, 1e-9);
    }
  });

  it('varies skin brightness more between people than between photos of one person', () => {
    // Hand-chosen feature: the log brightness of the cheek, under the full nuisance (light
    // direction and strength, camera gain, gamma, pose) but without occluders over the cheek.
    // Skin tones span about 4x in brightness; lighting moves a photo by less than that.
    const people = 10;
    const photos = 5;
    const features: number[][] = [];
    for (let p = 0; p < people; p++) {
      const identity = sampleIdentity(new Random(9, p));
      features.push(
        Array.from({ length: photos }, (_, k) => {
          const face = renderFace(
            identity,
            sampleVariation(new Random(10, p, k), { occluders: false }),
          );
          return logLuma(face, ...cheek(face));
        }),
      );
    }
    const distance = (a: number, b: number) => Math.abs(a - b);
    let within = 0;
    let withinCount = 0;
    let between = 0;
    let betweenCount = 0;
    for (let p = 0; p < people; p++) {
      for (let q = p; q < people; q++) {
        for (let i = 0; i < photos; i++) {
          for (let j = p === q ? i + 1 : 0; j < photos; j++) {
            const d = distance(features[p][i], features[q][j]);
            if (p === q) {
              within += d;
              withinCount++;
            } else {
              between += d;
              betweenCount++;
            }
          }
        }
      }
    }
    expect(within / withinCount).to.be.below(0.75 * (between / betweenCount));
  });

  it('is a pure function of identity and variation', () => {
    const identity = sampleIdentity(new Random(11, 0));
    const variation = sampleVariation(new Random(12, 0));
    const a = renderFace(identity, variation);
    const b = renderFace(identity, variation);
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).to.equal(true);
    expect(a.landmarks).to.deep.equal(b.landmarks);
  });
});
