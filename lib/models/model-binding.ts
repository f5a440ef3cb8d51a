// The native side of the models and their training state, as lib/native.ts loads it.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ModelBinding {}
