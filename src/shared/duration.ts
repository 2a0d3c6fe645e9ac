import type { OptionIssue } from '../errors.js'

/**
 * A duration: a number is milliseconds; a string carries its unit.
 * @example 500, '500ms', '30s', '10m', '1h', '1d'
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/**
 * The longest duration accepted, in ms (about 285,000 years): an exact integer in JavaScript, and
 * far inside what Redis takes for `PX` once added to the current time (a larger ttl made Redis
 * refuse the write, which left the value in L1 only).
 */
export const MAX_DURATION_MS = Number.MAX_SAFE_INTEGER

/**
 * Parses a duration into milliseconds. Records an issue (and returns `undefined`) when the
 * input is not a finite, non-negative number or a string like `'10m'`, or exceeds
 * {@link MAX_DURATION_MS}.
 */
export function parseDuration(input: unknown, path: string, issues: OptionIssue[]): number | undefined {
  let ms: number | undefined
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) ms = input
  } else if (typeof input === 'string') {
    const match = DURATION_PATTERN.exec(input.trim())
    if (match) ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  }
  if (ms !== undefined && ms <= MAX_DURATION_MS) return ms
  if (ms !== undefined) {
    issues.push({ path, message: `at most ${MAX_DURATION_MS} ms (about 285,000 years); got ${describe(input)}` })
    return undefined
  }
  issues.push({
    path,
    message: `expected milliseconds (a number >= 0) or a string such as '500ms', '30s', '10m', '1h', '1d'; got ${describe(input)}`,
  })
  return undefined
}

/** Short description of a bad option value for messages. Never prints long or secret-looking data. */
export function describe(input: unknown): string {
  if (typeof input === 'string') return input.length > 40 ? `a ${input.length}-character string` : JSON.stringify(input)
  if (typeof input === 'number' || typeof input === 'boolean' || input == null) return String(input)
  return Array.isArray(input) ? 'an array' : `a ${typeof input}`
}
