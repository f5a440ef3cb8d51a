// mxnet's image-record header (IRHeader), the start of every payload in an image .rec file:
//   uint32 flag | float32 label | uint64 id | uint64 id2    (24 bytes, little-endian)
// followed, when flag > 0, by `flag` float32 labels (then `label` is unused), then the encoded
// image. insightface's record 0 uses the labels to hold the range of image records.

export const IR_HEADER_BYTES = 24;

export interface IRHeader {
  flag: number;
  /** The scalar label (meaningful when flag is 0). */
  label: number;
  /** The `flag` labels that follow the header, when flag > 0. */
  labels?: Float32Array;
  id: bigint;
  id2: bigint;
  /** Where the encoded image starts in the payload: 24 + 4 * flag. */
  dataOffset: number;
}

/** Payload bytes needed to parse the header of a record whose first word is `flag`. */
export function irHeaderBytes(flag: number): number {
  return IR_HEADER_BYTES + 4 * flag;
}

/**
 * Parses the header at the start of `payload` (the whole record or at least its first
 * irHeaderBytes(flag) bytes; `recordBytes` is the whole record's length when only a prefix was
 * read). `where` names the record in errors.
 */
export function parseIRHeader(
  payload: Uint8Array,
  where: string,
  recordBytes = payload.length,
): IRHeader {
  if (recordBytes < IR_HEADER_BYTES || payload.length < IR_HEADER_BYTES) {
    throw new Error(
      `${where}: the record holds ${recordBytes} bytes, fewer than the ${IR_HEADER_BYTES}-byte image-record header`,
    );
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const flag = view.getUint32(0, true);
  const dataOffset = irHeaderBytes(flag);
  if (dataOffset > recordBytes) {
    throw new Error(
      `${where}: the header's flag ${flag} announces ${flag} float32 labels (${4 * flag} bytes) but the record holds only ${recordBytes - IR_HEADER_BYTES} bytes after its header`,
    );
  }
  if (dataOffset > payload.length) {
    throw new Error(`${where}: ${dataOffset} header bytes needed but ${payload.length} were read`);
  }
  const header: IRHeader = {
    flag,
    label: view.getFloat32(4, true),
    id: view.getBigUint64(8, true),
    id2: view.getBigUint64(16, true),
    dataOffset,
  };
  if (flag > 0) {
    header.labels = new Float32Array(flag);
    for (let i = 0; i < flag; i++)
      header.labels[i] = view.getFloat32(IR_HEADER_BYTES + 4 * i, true);
  }
  return header;
}

/**
 * The class of an image record as insightface's MXFaceDataset takes it: the label, or the first
 * of the labels when there are several; it must be a non-negative integer (an int32).
 */
export function classLabel(header: IRHeader, where: string): number {
  const value = header.labels ? header.labels[0] : header.label;
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new Error(`${where}: expected a non-negative integer label but found ${value}`);
  }
  return value;
}
