/** Checks on keys read from another library's data before they become strata keys. */

/** Longest key a strata cache accepts (see the README's rules on keys). */
const MAX_KEY_LENGTH = 1024

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** The key when a strata cache accepts it, else why not. */
export function checkedKey(key: string): string | { readonly reason: string } {
  if (key.length === 0) return { reason: 'empty key once the prefix is removed' }
  if (key.length > MAX_KEY_LENGTH) return { reason: `key longer than ${MAX_KEY_LENGTH} characters` }
  if (LONE_SURROGATE.test(key)) return { reason: 'key is not well-formed text (a lone surrogate)' }
  return key
}
