/**
 * When `strata invalidate --pattern` needs `--force`: a pattern with no literal character (it
 * matches every key: `*`, `**`, `?*`, `[a-z]*`), or one that matches more than
 * {@link BROAD_MATCH_LIMIT} keys, counted by a SCAN pass that stops at the first key past the
 * limit, before anything is deleted.
 */

/** Keys a pattern may match without `--force`. */
export const BROAD_MATCH_LIMIT = 1000

/**
 * Whether a Redis glob has no literal character: after dropping `*`, `?` and `[…]` classes,
 * nothing is left (an escaped character, `\x`, is literal).
 */
export function matchesEverything(pattern: string): boolean {
  let i = 0
  while (i < pattern.length) {
    const c = pattern[i]
    if (c === '\\' && i + 1 < pattern.length) return false
    if (c === '[') {
      const close = pattern.indexOf(']', i + 2)
      if (close === -1) return false
      i = close + 1
      continue
    }
    if (c !== '*' && c !== '?') return false
    i++
  }
  return true
}
