/**
 * Cache keys for AI responses.
 *
 * Layout, version 1 (every segment label is fixed, and the free-form segments are either
 * validated to exclude `|` and `:` or are hashes, so no input can forge another input's key):
 * ```
 * ai:v1:[t:<tenant>|]op:<operation>|txt:<text>|opts:<hash>|q:<hash or ->[|stream]
 *                                   txth:<hash>   (texts over textHashThreshold, or with lone surrogates)
 * ```
 * - `<text>` appears raw only up to `textHashThreshold` characters. It is the only segment
 *   that may contain `|`; it is unambiguous because everything after it has a fixed shape.
 * - `opts` hashes the canonical form of every option (see `canonical-hash.ts`): model,
 *   temperature, system prompt, tools, images… Key order and `undefined` values do not matter.
 * - `q` hashes the question (`-` when there is none); `|stream` marks chunk-list entries,
 *   which are stored in another format than whole responses.
 * A change of layout bumps `v1`, so entries of an older scheme are never read as current ones.
 */
import { performance } from 'node:perf_hooks'

import { errors } from '../errors.js'
import type { OptionIssue } from '../index.js'

import { CanonicalWriter, type HashAlgorithm, hashText, isWellFormed } from './canonical-hash.js'
import { KeyMemo, type KeyVariant } from './key-memo.js'

/** The scheme version written into every key. */
export const AI_KEY_VERSION = 'v1'
/** Operation names and tenant ids: no `|`, `:` or glob characters, so they cannot forge a segment. */
const NAME = /^[A-Za-z0-9._@-]{1,64}$/
/** Upper bound of `textHashThreshold`: keeps every key far below strata's 1,024-character limit. */
const MAX_THRESHOLD = 512
/** Memoized digests per generator; a pure-function cache, so it never changes a key. */
const MEMO_ENTRIES = 1024
/** Texts up to this length have their digest memoized (bounds the memo to ~2 MB). */
const MEMO_TEXT_MAX = 1024
/** One key generation in this many is timed: reading the clock costs about as much as an L1 get. */
const TIMING_SAMPLE = 16

/** Options of {@link CacheKeyGenerator}. */
export interface CacheKeyGeneratorOptions {
  /**
   * Texts longer than this many characters appear in the key as a hash only. Raw text in Redis
   * key names leaks prompts into `KEYS`/`SCAN`/`MONITOR` output, so keep it small; `0` hashes
   * every text. At most 512.
   * @default 64
   */
  textHashThreshold?: number
  /** Digest used for texts, options and questions (base64url in the key). @default 'sha256' */
  hashAlgorithm?: HashAlgorithm
  /**
   * Called with the duration of every key generation, in ms, for an external monitor (such as
   * `CachePerformanceMonitor`). When set, every call is timed; otherwise one in 16 is.
   * @default undefined
   */
  onKeyGenerated?: (durationMs: number) => void
}

/** Everything that identifies one AI request. */
export interface AIKeyParts {
  /** The input text. */
  readonly text: string
  /** What is done with it (`summarize`, `qa`, …): letters, digits, `.`, `_`, `@`, `-`. */
  readonly operation: string
  /** Every parameter that changes the answer: model, temperature, system prompt, tools, images… */
  readonly options?: Readonly<Record<string, unknown>> | undefined
  /** A question about the text (for `qa`). */
  readonly question?: string | undefined
  /** Tenant whose entry this is: letters, digits, `.`, `_`, `@`, `-`, at most 64. */
  readonly tenant?: string | undefined
  /** Whether the entry is a recorded stream (stored as chunks, under its own key). */
  readonly stream?: boolean | undefined
}

/** Counters of a {@link CacheKeyGenerator}. */
export interface KeyGeneratorStats {
  /** Keys generated. */
  readonly generated: number
  /** Mean duration of one key generation, in ms, over the timed calls (0 before any). */
  readonly averageMs: number
}

/**
 * Builds deterministic, bounded, tenant-safe cache keys for AI requests.
 *
 * @example
 * const keys = new CacheKeyGenerator({ textHashThreshold: 64 })
 * keys.generateCacheKey(article, 'summarize', { model: 'gpt-4o-mini', temperature: 0 })
 * // 'ai:v1:op:summarize|txth:n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg|opts:…|q:-'
 */
export class CacheKeyGenerator {
  /** The text length above which texts are hashed. */
  readonly textHashThreshold: number
  /** The digest algorithm. */
  readonly hashAlgorithm: HashAlgorithm
  readonly #onKeyGenerated: ((durationMs: number) => void) | undefined
  readonly #textMemo = new Map<string, string>()
  readonly #optionsMemo = new Map<string, string>()
  readonly #keyMemo = new KeyMemo()
  #last: LastRequest | undefined
  #generated = 0
  #timed = 0
  #timedMs = 0

  constructor(options: CacheKeyGeneratorOptions = {}) {
    const issues: OptionIssue[] = []
    const threshold = options.textHashThreshold ?? 64
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_THRESHOLD) {
      issues.push({ path: 'textHashThreshold', message: `expected an integer from 0 to ${MAX_THRESHOLD}, got ${String(threshold)}` })
    }
    const algorithm = options.hashAlgorithm ?? 'sha256'
    if (!['sha256', 'sha384', 'sha512'].includes(algorithm)) {
      issues.push({ path: 'hashAlgorithm', message: `expected 'sha256', 'sha384' or 'sha512', got ${String(algorithm)}` })
    }
    if (options.onKeyGenerated !== undefined && typeof options.onKeyGenerated !== 'function') {
      issues.push({ path: 'onKeyGenerated', message: 'expected a function (durationMs: number) => void' })
    }
    if (issues.length > 0) throw new errors.E_INVALID_OPTIONS(issues)
    this.textHashThreshold = threshold
    this.hashAlgorithm = algorithm
    this.#onKeyGenerated = options.onKeyGenerated
  }

  /**
   * The key of `text` processed by `operation` with `options` (and `question`). Throws
   * `E_INVALID_OPTIONS` for an invalid operation or options that cannot be hashed safely.
   */
  generateCacheKey(text: string, operation: string, options?: Readonly<Record<string, unknown>>, question?: string): string {
    return this.keyFor({ text, operation, options, question })
  }

  /** The key of a request given as one object; the only way to add a tenant or the stream marker. */
  keyFor(parts: AIKeyParts): string {
    const timed = this.#onKeyGenerated !== undefined || this.#generated % TIMING_SAMPLE === 0
    const started = timed ? performance.now() : 0
    const key = this.#build(parts)
    this.#generated++
    if (timed) {
      const ms = performance.now() - started
      this.#timed++
      this.#timedMs += ms
      this.#onKeyGenerated?.(ms)
    }
    return key
  }

  /** Key generation counters. */
  getStats(): KeyGeneratorStats {
    return { generated: this.#generated, averageMs: this.#timed === 0 ? 0 : this.#timedMs / this.#timed }
  }

  /** Base64url digest of the canonical form of `options`; equal for equal data whatever the key order. */
  hashOptions(options: Readonly<Record<string, unknown>> | undefined): string {
    const value = options ?? {}
    const leaf = typeof value === 'object' && value !== null ? this.#keyMemo.leaf(value) : undefined
    if (leaf === undefined) return this.#hashCanonical(value)
    leaf.digest ??= this.#hashCanonical(value)
    return leaf.digest
  }

  /** The general path: canonical form, memoized by that form when it is short. */
  #hashCanonical(value: unknown): string {
    const writer = new CanonicalWriter(this.hashAlgorithm)
    writer.write(value)
    const form = writer.inline
    if (form === undefined) return writer.digest()
    return this.#optionsMemo.get(form) ?? remember(this.#optionsMemo, form, writer.digest())
  }

  #build(parts: AIKeyParts): string {
    const { text, operation, tenant, question } = parts
    assertName(operation, 'operation')
    if (tenant !== undefined) assertName(tenant, 'tenant')
    if (typeof text !== 'string') throw invalid('text', 'expected a string')
    if (question !== undefined && typeof question !== 'string') throw invalid('question', 'expected a string or undefined')
    const options = parts.options ?? {}
    // A hot endpoint repeats one request: compare it with the last one before walking the memo.
    const last = this.#last
    if (last !== undefined && sameRequest(last, parts, options)) return last.key
    const key = this.#buildFresh(parts, options)
    this.#last = rememberRequest(parts, options, key)
    return key
  }

  #buildFresh(parts: AIKeyParts, options: object): string {
    const { text, operation, tenant, question } = parts
    const leaf = typeof options === 'object' && options !== null ? this.#keyMemo.leaf(options) : undefined
    // `parts` carries the variant fields: no allocation on the memoized path.
    const known = leaf && this.#keyMemo.findKey(leaf, text, parts)
    if (known !== undefined) return known
    const variant: KeyVariant = { operation, tenant, question, stream: parts.stream === true }
    let digest: string
    if (leaf === undefined) digest = this.#hashCanonical(options)
    else digest = leaf.digest ??= this.#hashCanonical(options)
    const scope = tenant === undefined ? '' : `t:${tenant}|`
    const q = question === undefined ? '-' : this.#hashText(question)
    const key = `ai:${AI_KEY_VERSION}:${scope}op:${operation}|${this.#textSegment(text)}|opts:${digest}|q:${q}${variant.stream ? '|stream' : ''}`
    if (leaf !== undefined) this.#keyMemo.rememberKey(leaf, text, variant, key)
    return key
  }

  #textSegment(text: string): string {
    // Lone surrogates would reach Redis as U+FFFD and merge distinct texts, so such text is hashed.
    if (text.length <= this.textHashThreshold && isWellFormed(text)) return `txt:${text}`
    return `txth:${this.#hashText(text)}`
  }

  #hashText(text: string): string {
    if (text.length > MEMO_TEXT_MAX) return hashText(text, this.hashAlgorithm)
    return this.#textMemo.get(text) ?? remember(this.#textMemo, text, hashText(text, this.hashAlgorithm))
  }
}

/** The last request a generator built a key for, with its flat options as [name, value] pairs. */
interface LastRequest {
  readonly text: string
  readonly operation: string
  readonly tenant: string | undefined
  readonly question: string | undefined
  readonly stream: boolean
  /** Flat option pairs in the object's own order; `undefined` values are left out. */
  readonly pairs: readonly unknown[]
  readonly key: string
}

/** Whether `parts` asks for exactly the last key: same strings and the same flat option pairs. */
function sameRequest(last: LastRequest, parts: AIKeyParts, options: object): boolean {
  if (last.text !== parts.text || last.operation !== parts.operation || last.tenant !== parts.tenant) return false
  if (last.question !== parts.question || last.stream !== (parts.stream === true)) return false
  if (Object.getPrototypeOf(options) !== Object.prototype) return false
  const pairs = last.pairs
  let i = 0
  for (const name in options) {
    const value: unknown = (options as Record<string, unknown>)[name]
    if (value === undefined) continue
    if (pairs[i] !== name || pairs[i + 1] !== value || (typeof value === 'object' && value !== null)) return false
    i += 2
  }
  return i === pairs.length
}

/** A `LastRequest`, or `undefined` when the options are not flat (then nothing is remembered). */
function rememberRequest(parts: AIKeyParts, options: object, key: string): LastRequest | undefined {
  if (Object.getPrototypeOf(options) !== Object.prototype) return undefined
  const pairs: unknown[] = []
  for (const name in options) {
    const value: unknown = (options as Record<string, unknown>)[name]
    if (value === undefined) continue
    if (typeof value === 'object' && value !== null) return undefined
    pairs.push(name, value)
  }
  const { text, operation, tenant, question } = parts
  return { text, operation, tenant, question, stream: parts.stream === true, pairs, key }
}

/** Adds a digest to a memo, evicting the oldest entry when full (insertion order); returns it. */
function remember(map: Map<string, string>, input: string, digest: string): string {
  if (map.size >= MEMO_ENTRIES) map.delete(map.keys().next().value as string)
  map.set(input, digest)
  return digest
}

/** Names already validated: the same few operations and tenants come back on every call. */
const validNames = new Set<string>()

/** Validates an operation name or tenant id; returns it. */
export function assertName(value: unknown, path: 'operation' | 'tenant'): string {
  if (typeof value === 'string' && validNames.has(value)) return value
  if (typeof value === 'string' && NAME.test(value)) {
    if (validNames.size < MEMO_ENTRIES) validNames.add(value)
    return value
  }
  throw invalid(path, `expected 1 to 64 letters, digits, '.', '_', '@' or '-', got ${JSON.stringify(value)?.slice(0, 80) ?? String(value)}; hash longer ids first`)
}

function invalid(path: string, message: string): Error {
  return new errors.E_INVALID_OPTIONS([{ path, message }])
}
