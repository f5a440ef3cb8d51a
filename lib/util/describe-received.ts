// How a received value is named in error messages ("... but received 'x'", "-1 of type number").

export function describeReceived(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean')
    return `${String(value)} of type ${typeof value}`;
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) {
    const type = value.constructor.name;
    return `${/^[AEIOU]/.test(type) ? 'an' : 'a'} ${type}`;
  }
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  return `a value of type ${typeof value}`;
}
