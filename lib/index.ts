export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
