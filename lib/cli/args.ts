// Reading typed values out of parseArgs' strings, each failure a UsageError naming the flag.
import { DEFAULT_MAX_PIXELS } from '../data/image-decoder';
import { UsageError, type Options, type ParsedValues } from './command';

export function stringArg(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable option, in order. */
export function stringListArg(values: ParsedValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
}

/** "1.5,2,3" -> [1.5, 2, 3], exactly `count` finite numbers, or a UsageError naming the flag. */
export function numberListArg(text: string, name: string, count: number): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== count || parts.some((p) => p === '') || !numbers.every(Number.isFinite)) {
    throw new UsageError(
      `--${name} expects ${count} comma-separated numbers but received '${text}'`,
    );
  }
  return numbers;
}

export function requiredString(values: ParsedValues, name: string): string {
  const value = stringArg(values, name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

export function numberArg(values: ParsedValues, name: string, fallback: number): number;
export function numberArg(values: ParsedValues, name: string): number | undefined;
export function numberArg(values: ParsedValues, name: string, fallback?: number) {
  const text = stringArg(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  // Decimal only: Number() also reads hex, octal and binary ('0x10' is 16).
  if (!DECIMAL.test(text.trim()) || !Number.isFinite(value)) {
    throw new UsageError(`--${name} expects a number but received '${text}'`);
  }
  return value;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

export function integerArg(
  values: ParsedValues,
  name: string,
  min: number,
  fallback: number,
  max?: number,
): number;
export function integerArg(
  values: ParsedValues,
  name: string,
  min: number,
  fallback?: undefined,
  max?: number,
): number | undefined;
export function integerArg(
  values: ParsedValues,
  name: string,
  min: number,
  fallback?: number,
  max = Number.MAX_SAFE_INTEGER,
) {
  const text = stringArg(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    throw new UsageError(`--${name} expects an integer ${range} but received '${text}'`);
  }
  return value;
}

/** The flag of every command that decodes images. */
export const maxPixelsOption: Options = {
  'max-pixels': {
    type: 'string',
    value: 'N',
    description: 'refuse images over N pixels, from their headers, before decoding',
    default: DEFAULT_MAX_PIXELS,
  },
};

export function maxPixelsArg(values: ParsedValues): number | undefined {
  return integerArg(values, 'max-pixels', 1);
}

export function positiveArg(values: ParsedValues, name: string, fallback: number): number {
  const value = numberArg(values, name, fallback);
  if (!(value > 0))
    throw new UsageError(`--${name} expects a positive number but received ${value}`);
  return value;
}

export function nonNegativeArg(values: ParsedValues, name: string, fallback: number): number {
  const value = numberArg(values, name, fallback);
  if (!(value >= 0)) {
    throw new UsageError(`--${name} expects a non-negative number but received ${value}`);
  }
  return value;
}

export function choiceArg<T extends string>(
  values: ParsedValues,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const text = stringArg(values, name);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`--${name} expects one of ${choices.join(', ')} but received '${text}'`);
  }
  return text as T;
}

/** "16000,24000" -> [16000, 24000]. */
export function integerListArg(values: ParsedValues, name: string): number[] | undefined {
  const text = stringArg(values, name);
  if (text === undefined) return undefined;
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(`--${name} expects comma-separated integers but received '${text}'`);
  }
  return parts.map(Number);
}

/** "2" -> every 2 epochs; "500it" -> every 500 iterations. */
export function everyArg(
  values: ParsedValues,
  name: string,
): number | { iterations: number } | undefined {
  const text = stringArg(values, name);
  if (text === undefined) return undefined;
  const match = /^(\d+)(it)?$/.exec(text.trim());
  if (!match || Number(match[1]) < 1) {
    throw new UsageError(
      `--${name} expects a number of epochs (2) or of iterations (500it) but received '${text}'`,
    );
  }
  return match[2] ? { iterations: Number(match[1]) } : Number(match[1]);
}
