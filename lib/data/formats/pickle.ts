// A restricted unpickler: the subset of Python's pickle (protocols 2 to 5) that holds lists,
// tuples, byte strings and booleans, enough for insightface's verification sets whichever
// Python wrote them (the default dialect):
// - Python 2 (protocol 2): byte strings are BINSTRING / SHORT_BINSTRING;
// - Python 3 at protocol 2: bytes are written as the call _codecs.encode(str, 'latin1')
//   (GLOBAL + BINUNICODE + REDUCE), empty bytes as __builtin__.bytes();
// - Python 3 at protocols 3 to 5: BINBYTES / SHORT_BINBYTES / BINBYTES8, FRAMEs, MEMOIZE;
// - bytearrays (read as bytes): BYTEARRAY8 at protocol 5, below it the call bytearray(bytes)
//   (GLOBAL, or protocol 4's STACK_GLOBAL, + REDUCE), at protocol 2 of the latin1 form above.
// No other global is ever resolved and no other opcode is run: anything else is an error naming
// the opcode and its byte offset. Another dialect (torch-file.ts: PyTorch's state_dicts) may also
// allow dicts, None, persistent ids and BUILD, and give meaning to its own calls. Every length is
// checked against the bytes left before it is used, and each opcode consumes input, so time and
// memory stay proportional to the file.
import { isUtf8 } from 'node:buffer';

/** A Python tuple (lists are plain arrays). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A module attribute named by GLOBAL, only ever used as the callable of a known REDUCE. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

/** A Python dict, its items in insertion order. */
export class PickleDict {
  readonly items: [PickleValue, PickleValue][] = [];
}

/** Whatever a dialect's persistentLoad or reduce made (e.g. a tensor), passed through as is. */
export class PickleObject {
  constructor(
    readonly kind: string,
    readonly value: unknown,
  ) {}
}

export type PickleValue =
  | Uint8Array
  | boolean
  | number
  | string
  | null
  | PickleValue[]
  | PickleTuple
  | PickleGlobal
  | PickleDict
  | PickleObject;

/** What one use of the unpickler reads beyond the default subset, and the calls it allows. */
export interface PickleDialect {
  /** Said in the error for an opcode the dialect does not read. */
  reads: string;
  /** Dicts (EMPTY_DICT, SETITEM, SETITEMS) and None. */
  extended: boolean;
  /** REDUCE: the value of callable(*args); throws `fail(...)` for a call it does not allow. */
  reduce(callable: PickleValue, args: PickleValue, fail: (why: string) => Error): PickleValue;
  /** BINPERSID: the object a persistent id stands for (refused without). */
  persistentLoad?(id: PickleValue, fail: (why: string) => Error): PickleValue;
  /** BUILD: `target` after __setstate__(state) (refused without). */
  build?(target: PickleValue, state: PickleValue, fail: (why: string) => Error): PickleValue;
}

// The standard opcodes by byte, so that an unsupported one is named in the error.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK',
  0x2e: 'STOP',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4a: 'BININT',
  0x4b: 'BININT1',
  0x4c: 'LONG',
  0x4d: 'BININT2',
  0x4e: 'NONE',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x52: 'REDUCE',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x58: 'BINUNICODE',
  0x61: 'APPEND',
  0x62: 'BUILD',
  0x63: 'GLOBAL',
  0x64: 'DICT',
  0x7d: 'EMPTY_DICT',
  0x65: 'APPENDS',
  0x67: 'GET',
  0x68: 'BINGET',
  0x69: 'INST',
  0x6a: 'LONG_BINGET',
  0x6c: 'LIST',
  0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x71: 'BINPUT',
  0x72: 'LONG_BINPUT',
  0x73: 'SETITEM',
  0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE',
  0x75: 'SETITEMS',
  0x47: 'BINFLOAT',
  0x80: 'PROTO',
  0x81: 'NEWOBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x85: 'TUPLE1',
  0x86: 'TUPLE2',
  0x87: 'TUPLE3',
  0x88: 'NEWTRUE',
  0x89: 'NEWFALSE',
  0x8a: 'LONG1',
  0x8b: 'LONG4',
  0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES',
  0x8c: 'SHORT_BINUNICODE',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE',
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

function opcodeName(op: number): string {
  const hex = `0x${op.toString(16).padStart(2, '0')}`;
  return OPCODE_NAMES[op] ? `${OPCODE_NAMES[op]} (${hex})` : `${hex} (not a pickle opcode)`;
}

const MAX_GLOBAL_LINE = 256;

/** insightface's verification sets: lists, tuples, bytes and booleans. */
const BYTES_DIALECT: PickleDialect = {
  reads: 'lists, tuples, bytes and booleans only',
  extended: false,
  reduce: reduceToBytes,
};

/**
 * Unpickles `bytes` (a whole file; `file` names it in errors). Byte strings come back as
 * Uint8Array copies that own their memory; lists as arrays; tuples as PickleTuple.
 */
export function unpickle(
  bytes: Uint8Array,
  file: string,
  dialect: PickleDialect = BYTES_DIALECT,
): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let at = 0; // offset of the opcode being run
  let op = 0;

  const fail = (why: string) =>
    new Error(`${file}: pickle opcode ${opcodeName(op)} at offset ${at}: ${why}`);
  const take = (n: number | bigint): number => {
    const left = bytes.length - pos;
    if (typeof n === 'bigint' ? n > BigInt(left) : n > left) {
      throw fail(
        `needs ${n} more bytes but the file ends at offset ${bytes.length} (${left} left)`,
      );
    }
    const start = pos;
    pos += Number(n);
    return start;
  };
  const u8 = () => bytes[take(1)];
  const u16 = () => view.getUint16(take(2), true);
  const u32 = () => view.getUint32(take(4), true);
  const i32 = () => view.getInt32(take(4), true);
  const u64 = () => view.getBigUint64(take(8), true);
  const copy = (n: number | bigint) => {
    const start = take(n);
    return new Uint8Array(bytes.subarray(start, pos)); // a copy even when `bytes` is a Buffer
  };
  const text = (n: number | bigint) => {
    const start = take(n);
    const utf8 = Buffer.from(bytes.buffer, bytes.byteOffset + start, pos - start);
    if (!isUtf8(utf8)) throw fail('the string is not valid UTF-8');
    return utf8.toString('utf8');
  };
  const line = () => {
    const end = bytes.subarray(pos, pos + MAX_GLOBAL_LINE).indexOf(0x0a);
    if (end < 0) throw fail(`expected a line ending within ${MAX_GLOBAL_LINE} bytes`);
    const start = take(end + 1);
    return String.fromCharCode(...bytes.subarray(start, start + end));
  };
  const pop = (): PickleValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) throw fail('the stack is empty');
    return stack.pop()!;
  };
  const popMark = (): PickleValue[] => {
    if (!marks.length) throw fail('no MARK before it');
    return stack.splice(marks.pop()!);
  };
  const top = (): PickleValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) throw fail('the stack is empty');
    return stack[stack.length - 1];
  };
  const listBelow = (): PickleValue[] => {
    const list = pop();
    if (!Array.isArray(list))
      throw fail(`expected a list to append to but found ${typeName(list)}`);
    return list;
  };
  const dictOnTop = (): PickleDict => {
    const dict = top();
    if (!(dict instanceof PickleDict)) throw fail(`expected a dict but found ${typeName(dict)}`);
    return dict;
  };
  const unsupported = () => fail(`not supported by this reader (${dialect.reads})`);
  const put = (index: number) => memo.set(index, top());
  const get = (index: number) => {
    if (!memo.has(index)) throw fail(`memo entry ${index} was never stored`);
    stack.push(memo.get(index)!);
  };

  if (bytes[0] !== 0x80) {
    const head = bytes.length ? `opcode ${opcodeName(bytes[0])}` : 'nothing (an empty file)';
    throw new Error(
      `${file}: not a pickle of protocol 2 to 5: those start with PROTO (0x80) but this starts with ${head}`,
    );
  }
  for (;;) {
    at = pos;
    op = u8();
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol < 2 || protocol > 5) throw fail(`protocol ${protocol} is not 2 to 5`);
        break;
      }
      case 0x95: // FRAME: a length prefix for buffering; the opcodes inside are read as usual
        if (u64() > BigInt(bytes.length - pos))
          throw fail('the frame runs past the end of the file');
        break;
      case 0x2e: // STOP
        if (marks.length) throw fail('a MARK was left open');
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        const list = listBelow();
        list.push(item);
        stack.push(list);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = listBelow();
        for (const item of items) list.push(item);
        stack.push(list);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        // TUPLE1..3
        const n = op - 0x84;
        const items: PickleValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new PickleTuple(items));
        break;
      }
      case 0x74: // TUPLE
        stack.push(new PickleTuple(popMark()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(copy(u8()));
        break;
      case 0x42: // BINBYTES
        stack.push(copy(u32()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(copy(u64()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2's str; bytes, as pickle.load(encoding='bytes'))
        stack.push(copy(u8()));
        break;
      case 0x54: {
        // BINSTRING
        const n = i32();
        if (n < 0) throw fail(`negative length ${n}`);
        stack.push(copy(n));
        break;
      }
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x63: {
        // GLOBAL: resolved by nothing; only REDUCE below gives the known ones a meaning
        const module = line();
        stack.push(new PickleGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL: GLOBAL with the module and name from the stack
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw fail('expected a module and a name (two str) for STACK_GLOBAL');
        }
        stack.push(new PickleGlobal(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(dialect.reduce(callable, args, fail));
        break;
      }
      case 0x4e: // NONE
        if (!dialect.extended) throw unsupported();
        stack.push(null);
        break;
      case 0x7d: // EMPTY_DICT
        if (!dialect.extended) throw unsupported();
        stack.push(new PickleDict());
        break;
      case 0x73: {
        // SETITEM
        if (!dialect.extended) throw unsupported();
        const value = pop();
        const key = pop();
        dictOnTop().items.push([key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        if (!dialect.extended) throw unsupported();
        const items = popMark();
        if (items.length % 2) throw fail('an odd number of keys and values');
        const dict = dictOnTop();
        for (let i = 0; i < items.length; i += 2) dict.items.push([items[i], items[i + 1]]);
        break;
      }
      case 0x51: {
        // BINPERSID
        if (!dialect.persistentLoad) throw unsupported();
        stack.push(dialect.persistentLoad(pop(), fail));
        break;
      }
      case 0x62: {
        // BUILD
        if (!dialect.build) throw unsupported();
        const state = pop();
        stack.push(dialect.build(pop(), state, fail));
        break;
      }
      default:
        throw unsupported();
    }
  }
}

/** Python 3's protocol-2 spellings of bytes, and bytearray(bytes); every other call is refused. */
function reduceToBytes(
  callable: PickleValue,
  args: PickleValue,
  fail: (why: string) => Error,
): Uint8Array {
  const what = callable instanceof PickleGlobal ? `${callable.module}.${callable.name}` : '';
  const items = args instanceof PickleTuple ? args.items : undefined;
  if (what === '_codecs.encode' && items?.length === 2) {
    const [s, encoding] = items;
    if (typeof s === 'string' && (encoding === 'latin1' || encoding === 'latin-1')) {
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) throw fail(`character ${c} cannot be encoded as latin1`);
        out[i] = c;
      }
      return out;
    }
  }
  if ((what === '__builtin__.bytes' || what === 'builtins.bytes') && items?.length === 0) {
    return new Uint8Array(0);
  }
  if (what === '__builtin__.bytearray' || what === 'builtins.bytearray') {
    if (items?.length === 0) return new Uint8Array(0);
    if (items?.length === 1 && items[0] instanceof Uint8Array) return items[0];
  }
  throw fail(
    `calls ${what || typeName(callable)}: only _codecs.encode(str, 'latin1'), bytes() and ` +
      "bytearray(bytes), Python 3's forms of bytes and bytearrays, are allowed",
  );
}

/** How a value is named in errors. */
export function typeName(value: PickleValue): string {
  if (value instanceof Uint8Array) return `bytes (${value.length})`;
  if (Array.isArray(value)) return `a list (${value.length} items)`;
  if (value instanceof PickleTuple) return `a tuple (${value.items.length} items)`;
  if (value instanceof PickleGlobal) return `the global ${value.module}.${value.name}`;
  if (typeof value === 'string') return 'a str';
  if (typeof value === 'boolean') return `the boolean ${value ? 'True' : 'False'}`;
  if (value === null) return 'None';
  if (value instanceof PickleDict) return `a dict (${value.items.length} items)`;
  if (value instanceof PickleObject) return value.kind;
  return `the int ${value}`;
}
