import type { OptionIssue } from '../errors.js'
import { describe } from './duration.js'

/** Records an issue unless `input` is an integer in [min, max]. */
export function integerIn(
  input: unknown,
  range: { path: string; min: number; max?: number },
  issues: OptionIssue[],
): number | undefined {
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  if (typeof input === 'number' && Number.isInteger(input) && input >= range.min && input <= max) return input
  issues.push({
    path: range.path,
    message: `expected an integer from ${range.min} to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}; got ${describe(input)}`,
  })
  return undefined
}

/** Records an issue unless `input` is a boolean. */
export function booleanOption(input: unknown, path: string, issues: OptionIssue[]): boolean | undefined {
  if (typeof input === 'boolean') return input
  issues.push({ path, message: `expected true or false; got ${describe(input)}` })
  return undefined
}

/** Records an issue for every key of `raw` that is not in `known` (catches typos such as `ttl` vs `defaultTtl`). */
export function rejectUnknownKeys(
  raw: object,
  known: readonly string[],
  prefix: string,
  issues: OptionIssue[],
): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      issues.push({ path: `${prefix}${key}`, message: `unknown option; known options are ${known.join(', ')}` })
    }
  }
}

/** True for a plain object (not null, not an array). */
export function isRecord(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input)
}
