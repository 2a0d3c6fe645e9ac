import { InvalidKeyError, InvalidOptionsError } from '../errors.js'

/** Longest key accepted, in characters. Longer keys are usually an unhashed payload by mistake. */
export const MAX_KEY_LENGTH = 1024

/** Throws `E_INVALID_KEY` unless `key` is a non-empty string of at most {@link MAX_KEY_LENGTH} characters. */
export function assertValidKey(key: unknown): asserts key is string {
  // The common case first: one type check and one length check on the hot path.
  if (typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH) return
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'keys must be strings')
  if (key.length === 0) throw new InvalidKeyError(key, 'keys must not be empty')
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(key, `keys must be at most ${MAX_KEY_LENGTH} characters; hash long inputs first`)
  }
}

/** Throws `E_INVALID_KEY` unless `pattern` is a non-empty string (a Redis-style glob). */
export function assertValidPattern(pattern: unknown): asserts pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(pattern, 'patterns must be non-empty strings such as "user:*"')
  }
}

/** Whether `tags` is an array of non-empty strings of at most {@link MAX_KEY_LENGTH} characters. */
export function isTagList(tags: unknown): tags is readonly string[] {
  if (!Array.isArray(tags)) return false
  for (const tag of tags) if (typeof tag !== 'string' || tag.length === 0 || tag.length > MAX_KEY_LENGTH) return false
  return true
}

/** Throws `E_INVALID_OPTIONS` unless `tags` is an array of non-empty strings. */
export function assertValidTags(tags: unknown): asserts tags is readonly string[] {
  if (!isTagList(tags)) throw new InvalidOptionsError([{ path: 'tags', message: 'expected an array of non-empty strings' }])
}

/** Escapes Redis glob characters so `text` matches only itself inside a SCAN MATCH pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/**
 * Compiles a Redis glob (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) into a RegExp with the same
 * meaning, so the memory tier matches exactly the keys Redis SCAN MATCH would.
 */
export function globToRegExp(glob: string): RegExp {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string
    if (char === '*') source += '[\\s\\S]*'
    else if (char === '?') source += '[\\s\\S]'
    else if (char === '\\' && i + 1 < glob.length) source += escapeRegExp(glob[++i] as string)
    else if (char === '[') {
      const end = glob.indexOf(']', i + 2)
      if (end === -1) {
        source += '\\['
        continue
      }
      const body = glob.slice(i + 1, end)
      const negated = body.startsWith('^')
      const chars = (negated ? body.slice(1) : body).replace(/[\\\]]/g, '\\$&')
      source += `[${negated ? '^' : ''}${chars}]`
      i = end
    } else source += escapeRegExp(char)
  }
  return new RegExp(`^${source}$`)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}
