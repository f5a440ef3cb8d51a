// The native side of the batch gather, as lib/native loads it (native/bindings/store_binding.cc).
// Arguments are validated in lib/data/store/image-reader.ts before they get here.

/** Shard files of a store: image i is in files[floor(i / imagesPerShard)]. */
export interface NativeShardSpec {
  n: number;
  height: number;
  width: number;
  files: string[];
  imagesPerShard: number;
}

/** One block of n images in memory (referenced by the reader until it is closed). */
export interface NativeMemorySpec {
  n: number;
  height: number;
  width: number;
  images: Uint8Array;
}

/** The crop window in stored pixels (may overhang the image: outside is black) and the output size. */
export interface NativeGatherGeometry {
  top: number;
  left: number;
  windowHeight: number;
  windowWidth: number;
  height: number;
  width: number;
}

export interface NativeImageReader {
  gather(
    indices: Int32Array,
    offsets: Int32Array | null,
    geometry: NativeGatherGeometry,
    out: Uint8Array,
  ): Promise<void>;
  inFlight(): number;
  close(): void;
}

export interface StoreBinding {
  ImageReader: new (spec: NativeShardSpec | NativeMemorySpec) => NativeImageReader;
  liveImageReaderCount(): number;
}
