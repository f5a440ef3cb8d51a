/** Python's sorted() order for strings (torchvision's class indices), not the locale's. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
