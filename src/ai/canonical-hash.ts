/**
 * Deterministic hashing of texts and option objects for AI cache keys.
 *
 * Canonical form of an options value (the bytes fed to the hash; every form starts with a
 * distinct character, so the grammar is unambiguous and two different values never produce
 * the same byte stream):
 *
 * | value                          | written as                                             |
 * | ------------------------------ | ------------------------------------------------------ |
 * | `null`, boolean, finite number | JSON (`-0` is written `0`, as JSON.stringify does)      |
 * | NaN, ±Infinity                 | `NaN`, `Infinity`, `-Infinity`                          |
 * | bigint                         | `123n`                                                  |
 * | string ≤ 1,024 characters      | JSON string (lone surrogates escaped by JSON.stringify) |
 * | longer string                  | `H` + hash of the text (see {@link hashText})           |
 * | Uint8Array, Buffer, DataView, ArrayBuffer | `B<byteLength>:` + the raw bytes             |
 * | Date                           | `D` + epoch ms (`DNaN` for an invalid date)             |
 * | array                          | `[` items `,` … `]`; an `undefined` item is `u`         |
 * | plain object                   | `{` `"key":value` … `}`, keys sorted, `undefined` dropped |
 * | Set / Map                      | `S[` items `]` / `M[` `[key,value]` pairs `]`, sorted by canonical form |
 * | URL or anything with `toJSON`  | the canonical form of `toJSON()`                        |
 *
 * Functions, symbols, cycles and class instances without `toJSON` are refused with
 * `E_INVALID_OPTIONS`, because hashing them as `{}` would let two different requests share a key.
 */
import { type Hash, createHash, hash as oneShotHash } from 'node:crypto'

import { errors } from '../errors.js'

/** Hash functions accepted for keys. Only SHA-2: a weak hash would let a crafted prompt take over another's key. */
export type HashAlgorithm = 'sha256' | 'sha384' | 'sha512'

/** Characters hashed per `update()`: bounds the temporary UTF-8 copy to 3 × 64 KiB, whatever the text size. */
const SLICE = 1 << 16
/** Strings longer than this inside options are hashed on their own instead of JSON-escaped (no copy). */
const LONG_STRING = 1024
/** Canonical forms up to this length are kept as a string (and can be memoized); longer ones stream into a hash. */
export const INLINE_CANONICAL_MAX = 512
/** Prefix of the UTF-16 form: 0xFF never occurs in UTF-8, so the two forms cannot produce the same input. */
const UTF16_MARKER = Buffer.from([0xff])

/**
 * Hash of a text, base64url-encoded (43 characters for SHA-256: keys stay short). Well-formed
 * text is hashed as UTF-8 (the digest is the SHA-256 of the text's UTF-8 bytes, as any language
 * computes it); text with lone surrogates, which UTF-8 cannot represent without
 * loss, is hashed as 0xFF + UTF-16LE. Large texts are fed in slices so no full copy is made.
 */
export function hashText(text: string, algorithm: HashAlgorithm): string {
  const wellFormed = isWellFormed(text)
  if (wellFormed && text.length <= SLICE) return oneShotHash(algorithm, text, 'base64url')
  const hash = createHash(algorithm)
  if (wellFormed) updateUtf8(hash, text)
  else {
    hash.update(UTF16_MARKER)
    // UTF-16LE encodes every code unit on its own, so any slice boundary is safe.
    for (let i = 0; i < text.length; i += SLICE) hash.update(text.slice(i, i + SLICE), 'utf16le')
  }
  return hash.digest('base64url')
}

/** Feeds well-formed text as UTF-8, never cutting a surrogate pair (which would turn into U+FFFD twice). */
function updateUtf8(hash: Hash, text: string): void {
  let start = 0
  while (start < text.length) {
    let end = Math.min(start + SLICE, text.length)
    const last = text.charCodeAt(end - 1)
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++
    hash.update(text.slice(start, end), 'utf8')
    start = end
  }
}

/** `String.prototype.isWellFormed` (Node ≥ 20), typed here because the ES2023 lib lacks it. */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed()
}

/** State shared by a writer and the nested writers it uses to sort Set and Map members. */
interface WriterScope {
  readonly algorithm: HashAlgorithm
  /** Property path of the value being written, for error messages. */
  readonly path: string[]
  /** Objects being written right now: meeting one again is a cycle. */
  readonly open: Set<object>
}

/**
 * Writes the canonical form of a value. Output starts as a string; once it outgrows
 * {@link INLINE_CANONICAL_MAX} or raw bytes appear, it streams into a hash instead.
 */
export class CanonicalWriter {
  #text = ''
  #hash: Hash | undefined
  readonly #scope: WriterScope

  constructor(algorithm: HashAlgorithm, scope?: WriterScope) {
    this.#scope = scope ?? { algorithm, path: [], open: new Set() }
  }

  /** The canonical form when it stayed short, else `undefined` (then use {@link digest}). */
  get inline(): string | undefined {
    return this.#hash === undefined ? this.#text : undefined
  }

  /** Base64url digest of everything written. */
  digest(): string {
    if (this.#hash === undefined) return oneShotHash(this.#scope.algorithm, this.#text, 'base64url')
    this.#flush()
    return this.#hash.digest('base64url')
  }

  /** Appends the canonical form of `value` (see the module docblock). */
  write(value: unknown): void {
    switch (typeof value) {
      case 'string':
        return this.#put(value.length <= LONG_STRING ? JSON.stringify(value) : `H${hashText(value, this.#scope.algorithm)}`)
      case 'number':
        return this.#put(Number.isFinite(value) ? JSON.stringify(value) : String(value))
      case 'boolean':
        return this.#put(value ? 'true' : 'false')
      case 'bigint':
        return this.#put(`${value}n`)
      case 'undefined':
        return this.#put('u')
      case 'object':
        return value === null ? this.#put('null') : this.#writeObject(value)
      default:
        throw this.#refuse(`is a ${typeof value}, which cannot be part of a cache key; pass data instead`)
    }
  }

  #writeObject(value: object): void {
    if (ArrayBuffer.isView(value)) return this.#bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
    if (value instanceof ArrayBuffer) return this.#bytes(new Uint8Array(value))
    if (value instanceof Date) return this.#put(`D${value.getTime()}`)
    const { open } = this.#scope
    if (open.has(value)) throw this.#refuse('refers to itself (a cycle); a cache key needs finite data')
    open.add(value)
    try {
      if (Array.isArray(value)) this.#array(value)
      else if (value instanceof Map) this.#unordered('M', [...value.entries()])
      else if (value instanceof Set) this.#unordered('S', [...value])
      else if (typeof (value as { toJSON?: unknown }).toJSON === 'function') this.write((value as { toJSON(): unknown }).toJSON())
      else if (isPlainObject(value)) this.#object(value as Record<string, unknown>)
      else throw this.#refuse(`is a ${constructorName(value)} instance; pass plain data (or give it a toJSON method)`)
    } finally {
      open.delete(value)
    }
  }

  #array(items: readonly unknown[]): void {
    this.#put('[')
    for (let i = 0; i < items.length; i++) {
      if (i > 0) this.#put(',')
      this.#nested(String(i), items[i])
    }
    this.#put(']')
  }

  #object(value: Record<string, unknown>): void {
    // Sorted keys make the form independent of insertion order; an undefined property is
    // skipped so that it gives the same key as a missing one.
    const keys = Object.keys(value).sort()
    let first = true
    this.#put('{')
    for (const key of keys) {
      const item = value[key]
      if (item === undefined) continue
      this.#put(`${first ? '' : ','}${SIMPLE_KEY.test(key) ? `"${key}"` : JSON.stringify(key)}:`)
      first = false
      this.#nested(key, item)
    }
    this.#put('}')
  }

  /** Members whose order carries no meaning (Set items, Map entries), sorted by canonical form. */
  #unordered(tag: 'M' | 'S', items: readonly unknown[]): void {
    const forms = items.map((item, i) => {
      const inner = new CanonicalWriter(this.#scope.algorithm, this.#scope)
      this.#scope.path.push(String(i))
      inner.write(item)
      this.#scope.path.pop()
      return inner.inline ?? `#${inner.digest()}`
    })
    this.#put(`${tag}[${forms.sort().join(',')}]`)
  }

  #nested(name: string, item: unknown): void {
    this.#scope.path.push(name)
    this.write(item)
    this.#scope.path.pop()
  }

  #bytes(bytes: Uint8Array): void {
    this.#put(`B${bytes.byteLength}:`)
    this.#toHash().update(bytes)
  }

  #put(text: string): void {
    this.#text += text
    if (this.#hash !== undefined ? this.#text.length >= SLICE : this.#text.length > INLINE_CANONICAL_MAX) this.#toHash()
  }

  /** Switches to streaming: what was buffered goes into the hash first. */
  #toHash(): Hash {
    this.#hash ??= createHash(this.#scope.algorithm)
    this.#flush()
    return this.#hash
  }

  #flush(): void {
    // Buffered text is JSON and markers: always well-formed, so UTF-8 is lossless here.
    if (this.#text.length > 0) this.#hash?.update(this.#text, 'utf8')
    this.#text = ''
  }

  #refuse(problem: string): Error {
    const { path } = this.#scope
    return new errors.E_INVALID_OPTIONS([{ path: path.length === 0 ? 'options' : `options.${path.join('.')}`, message: problem }])
  }
}

/** Keys that JSON.stringify would write unchanged between quotes; skipping it saves time on the hot path. */
const SIMPLE_KEY = /^[\w$.-]*$/
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function constructorName(value: object): string {
  const ctor: unknown = (value as { constructor?: unknown }).constructor
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'non-plain object'
}
