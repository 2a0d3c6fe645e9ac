import { InvalidKeyError, InvalidOptionsError } from '../errors.js'

export { type GlobMatcher, globMatcher } from './glob.js'

/** Longest key accepted, in characters. Longer keys are usually an unhashed payload by mistake. */
export const MAX_KEY_LENGTH = 1024

/** `String.prototype.isWellFormed` (ES2024, Node 20+), typed here because the build targets ES2023. */
interface WellFormedText {
  isWellFormed(): boolean
}

const NATIVE_WELL_FORMED = typeof (String.prototype as Partial<WellFormedText>).isWellFormed === 'function'

/** A lone surrogate: with the `u` flag, a surrogate pair is one code point, never `\p{Cs}`. */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Whether `text` is well-formed UTF-16 (no lone surrogate). Redis receives keys as UTF-8, where
 * every lone surrogate becomes U+FFFD: '\uD83D', '\uDC00' and '\uFFFD' would be one Redis key.
 */
export function isWellFormedText(text: string): boolean {
  return NATIVE_WELL_FORMED ? (text as unknown as WellFormedText).isWellFormed() : !LONE_SURROGATE.test(text)
}

const NOT_WELL_FORMED = 'it contains a lone surrogate (not well-formed UTF-16), which Redis would store as U+FFFD, the same key as others'

/**
 * Throws `E_INVALID_KEY` unless `key` is a non-empty, well-formed string of at most
 * {@link MAX_KEY_LENGTH} characters.
 */
export function assertValidKey(key: unknown): asserts key is string {
  // The common case first: one type check, one length check and a scan that V8 skips for
  // one-byte strings.
  if (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH && isWellFormedText(key)) return
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'keys must be strings')
  if (key.length === 0) throw new InvalidKeyError(key, 'keys must not be empty')
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(key, `keys must be at most ${MAX_KEY_LENGTH} characters; hash long inputs first`)
  }
  throw new InvalidKeyError(key, `keys must be well-formed: ${NOT_WELL_FORMED}`)
}

/** Throws `E_INVALID_KEY` unless `pattern` is a non-empty, well-formed string (a Redis-style glob). */
export function assertValidPattern(pattern: unknown): asserts pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(pattern, 'patterns must be non-empty strings such as "user:*"')
  }
  if (!isWellFormedText(pattern)) throw new InvalidKeyError(pattern, `patterns must be well-formed: ${NOT_WELL_FORMED}`)
}

/** Whether `tags` is an array of non-empty, well-formed strings of at most {@link MAX_KEY_LENGTH} characters. */
export function isTagList(tags: unknown): tags is readonly string[] {
  if (!Array.isArray(tags)) return false
  for (const tag of tags) {
    if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_KEY_LENGTH || !isWellFormedText(tag)) return false
  }
  return true
}

/** Throws `E_INVALID_OPTIONS` unless `tags` is an array of non-empty, well-formed strings. */
export function assertValidTags(tags: unknown): asserts tags is readonly string[] {
  if (isTagList(tags)) return
  // Tags are options: they keep reporting E_INVALID_OPTIONS, whose `issues` callers collect.
  const malformed = Array.isArray(tags) ? tags.findIndex((tag) => typeof tag === 'string' && !isWellFormedText(tag)) : -1
  throw new InvalidOptionsError([
    malformed >= 0
      ? { path: `tags[${malformed}]`, message: `tags must be well-formed: ${NOT_WELL_FORMED}` }
      : { path: 'tags', message: 'expected an array of non-empty strings' },
  ])
}

/** Escapes Redis glob characters so `text` matches only itself inside a SCAN MATCH pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
