export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
export { generateSyntheticFaces } from './synth/generate';
export type { SynthOptions, SynthResult, SynthSettings } from './synth/generate';
