/**
 * Redis glob matching, exactly as `SCAN MATCH` and `KEYS` do it, so the memory tier selects the
 * keys Redis selects. Redis (`stringmatchlen_impl` in util.c, the same since 7.0.9 but for the
 * nesting limit the 2024 security releases added) matches the BYTES of the UTF-8 encoding:
 *
 * - `?` and a class `[...]` match one byte, so `??` matches 'é' (C3 A9) and `?` does not;
 * - `*` matches any bytes, `\x` is a literal `x`, and a trailing `\` is a literal backslash;
 * - `[^...]` negates; `[a-z]` is a range, `[z-a]` the same range (Redis swaps the ends);
 *   any `x-y` is a range, even `a-]` (so `[a-]` is the range `a` to `]` in an unterminated
 *   class); `-` is literal only where it cannot start one (`[-a]`, `[a-c-z]`);
 * - `]` right after `[` or `[^` closes an empty class (`[]a]` never matches, `[^]a]` is any
 *   byte then `a]`);
 * - an unterminated class runs to the end of the pattern (`[abc` is `[abc]`; a lone `[` at
 *   the end matches nothing).
 *
 * Ranges compare C `char`s, which are signed on x86-64: a range with one end below 0x80 and the
 * other at or above it (such as `[a-é]`, from 0x61 to the byte 0xC3) covers the bytes 0x00-0x61
 * and 0xC3-0xFF there. This module follows x86-64; a Redis built where `char` is unsigned (ARM)
 * reads such mixed ranges as 0x61-0xC3. Ranges with both ends on the same side agree.
 *
 * Matching takes O(pattern × key) steps: like Redis (CVE-2022-36021), once the rest of a pattern
 * after a `*` matches at no later position, no earlier `*` retries longer spans.
 */

const STAR = 0x2a
const QUESTION = 0x3f
const OPEN = 0x5b
const CLOSE = 0x5d
const CARET = 0x5e
const DASH = 0x2d
const BACKSLASH = 0x5c

/**
 * Deepest `*` recursion, as in current Redis (CVE-2024-31228): past it a pattern matches
 * nothing. No valid pattern (at most 1024 UTF-16 units, so at most 512 separate `*`) gets near it.
 */
const MAX_NESTING = 1000

/** Longest key encoded into the shared buffer; longer keys get a buffer of their own. */
const SCRATCH_BYTES = 4096

const encoder = new TextEncoder()
const scratch = new Uint8Array(SCRATCH_BYTES)

/** Set when a `*` found no match for the rest of the pattern anywhere (Redis' `skipLongerMatches`). */
let skipLongerMatches = false

/** A compiled glob: whether `key` is one Redis would return for the pattern. */
export type GlobMatcher = (key: string) => boolean

/**
 * Compiles a Redis glob (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) into a predicate with exactly
 * Redis' meaning (see the module comment). Compile once, call for each key.
 */
export function globMatcher(pattern: string): GlobMatcher {
  const literal = literalPrefix(pattern)
  if (literal !== undefined) {
    const { text, star } = literal
    if (!star) return (key) => key === text
    return text === '' ? (key) => key.length > 0 : (key) => key.startsWith(text) // '*' needs a byte
  }
  const bytes = encoder.encode(pattern)
  return (key) => {
    const ascii = asciiInto(key, scratch)
    if (ascii >= 0) return matchBytes(bytes, scratch, ascii)
    // As Redis receives it: UTF-8, where a lone surrogate (refused as a key) would be U+FFFD.
    const { read, written } = encoder.encodeInto(key, scratch)
    if (read === key.length) return matchBytes(bytes, scratch, written)
    const encoded = encoder.encode(key) // too long for the shared buffer
    return matchBytes(bytes, encoded, encoded.length)
  }
}

/**
 * An ASCII pattern without glob characters, optionally followed by `*`s: it matches by string
 * comparison (an ASCII prefix of the UTF-8 bytes is the same prefix of the string).
 */
function literalPrefix(pattern: string): { text: string; star: boolean } | undefined {
  let end = pattern.length
  while (end > 0 && pattern.charCodeAt(end - 1) === STAR) end--
  for (let i = 0; i < end; i++) {
    const code = pattern.charCodeAt(i)
    if (code >= 0x80 || code === STAR || code === QUESTION || code === OPEN || code === BACKSLASH) return undefined
  }
  return { text: pattern.slice(0, end), star: end < pattern.length }
}

/** Copies an ASCII `key` into `target` as bytes; -1 when it is not ASCII or does not fit. */
function asciiInto(key: string, target: Uint8Array): number {
  const length = key.length
  if (length > target.length) return -1
  for (let i = 0; i < length; i++) {
    const code = key.charCodeAt(i)
    if (code >= 0x80) return -1
    target[i] = code
  }
  return length
}

/** Whether the first `length` bytes of `key` match `pattern`: Redis' `stringmatchlen(..., nocase=0)`. */
function matchBytes(pattern: Uint8Array, key: Uint8Array, length: number): boolean {
  skipLongerMatches = false
  return matchFrom(pattern, 0, key, 0, length, 0)
}

/** The C `char` value of a byte on x86-64 (signed), for range comparisons. */
function signedChar(byte: number): number {
  return (byte << 24) >> 24
}

/**
 * A line-by-line port of `stringmatchlen_impl`. C reads one byte past the pattern (its NUL
 * terminator) in places; here that read is `undefined`, which equals no byte, as NUL equals
 * none of the characters it is compared with.
 */
function matchFrom(pattern: Uint8Array, p: number, key: Uint8Array, s: number, end: number, nesting: number): boolean {
  if (nesting > MAX_NESTING) return false
  const patternEnd = pattern.length
  while (p < patternEnd && s < end) {
    const token = pattern[p]
    if (token === STAR) {
      while (pattern[p + 1] === STAR) p++
      if (p === patternEnd - 1) return true
      for (; s < end; s++) {
        if (matchFrom(pattern, p + 1, key, s, end, nesting + 1)) return true
        if (skipLongerMatches) return false
      }
      skipLongerMatches = true
      return false
    } else if (token === QUESTION) {
      s++
    } else if (token === OPEN) {
      p++
      const negated = pattern[p] === CARET
      if (negated) p++
      const byte = key[s] as number
      let match = false
      for (;;) {
        const left = patternEnd - p
        const item = pattern[p]
        if (item === BACKSLASH && left >= 2) {
          p++
          if (pattern[p] === byte) match = true
        } else if (item === CLOSE) {
          break
        } else if (left === 0) {
          p-- // unterminated: stop on the last byte, which the outer step then passes
          break
        } else if (left >= 3 && pattern[p + 1] === DASH) {
          let start = signedChar(item as number)
          let stop = signedChar(pattern[p + 2] as number)
          if (start > stop) {
            const swap = start
            start = stop
            stop = swap
          }
          const value = signedChar(byte)
          p += 2
          if (value >= start && value <= stop) match = true
        } else if (item === byte) {
          match = true
        }
        p++
      }
      if (negated) match = !match
      if (!match) return false
      s++
    } else {
      if (token === BACKSLASH && patternEnd - p >= 2) p++
      if (pattern[p] !== key[s]) return false
      s++
    }
    p++
    if (s === end) {
      while (pattern[p] === STAR) p++
      break
    }
  }
  return p === patternEnd && s === end
}
