/**
 * Memoized keys for the hot path of a cached lookup.
 *
 * Building a key costs little next to a model call, but a cache hit must cost little next to a
 * plain `get`, and two things dominate it: turning the options into a canonical string and
 * hashing it, and the cache's own lookup of a freshly concatenated key (the engine flattens and
 * hashes the string again). So, for flat options (a plain object of short strings, numbers,
 * bigints, booleans and nulls: the usual `{ model, temperature, maxTokens }`), this memo keeps
 * - the options digest, in a trie keyed by the (key, value) pairs: a repeated request costs a
 *   few Map reads on interned property names;
 * - the finished key strings built with those options, by text and then by operation, tenant,
 *   question and stream flag: the same string instance is returned, whose hash the engine has
 *   already computed.
 * Both are pure caches of deterministic functions, so they never change a key. They trade
 * memory for speed, bounded by {@link MAX_NODES} trie nodes and key variants and by
 * {@link MAX_TEXT_CHARS} memoized text characters; past either bound the memo starts over.
 */
const MAX_KEYS = 16
const MAX_STRING = 128
const MAX_NODES = 8192
/** About 2 MB of UTF-16: texts are kept as Map keys. */
const MAX_TEXT_CHARS = 1 << 20
/** Texts longer than this are not memoized (hashing them dominates anyway). */
const MAX_TEXT = 1024
/** Key variants kept per text (operations × tenants × questions); the oldest goes first. */
const MAX_VARIANTS = 16

/** What identifies a key besides its options. */
export interface KeyVariant {
  /** Operation name. */
  readonly operation: string
  /** Tenant id, if any. */
  readonly tenant: string | undefined
  /** The question itself (not its hash), if any. */
  readonly question: string | undefined
  /** Whether the key is a stream entry's. */
  readonly stream: boolean
}

/** One trie node: the options it stands for, their digest and the keys built with them. */
export interface OptionsLeaf {
  /** Next nodes, by option name, then by value. */
  readonly children: Map<string, Map<unknown, OptionsLeaf>>
  /** The last key walked from here and its values: one call site walks the same keys every time. */
  lastKey: string | undefined
  lastByValue: Map<unknown, OptionsLeaf> | undefined
  /** Digest of the options this node stands for, once computed. */
  digest: string | undefined
  /** Keys built with these options, by text. */
  keys: Map<string, Array<KeyVariant & { readonly key: string }>> | undefined
}

/** See the module docblock. */
export class KeyMemo {
  #root = newLeaf()
  #nodes = 0
  #textChars = 0

  /**
   * The node of `options` (created on first use), or `undefined` when they are not flat. The
   * walk follows the object's own key order, without sorting: the same data in another key
   * order reaches another node, whose digest (always computed from the canonical, sorted form)
   * is the same. Skipping the sort and the key array saves a third of a memoized lookup; the
   * cost is one path per key order in use, usually one per call site.
   */
  leaf(options: object): OptionsLeaf | undefined {
    if (Object.getPrototypeOf(options) !== Object.prototype) return undefined
    let node = this.#root
    let count = 0
    for (const key in options) {
      const value: unknown = (options as Record<string, unknown>)[key]
      if (value === undefined) continue
      if (++count > MAX_KEYS || !isFlatValue(value)) return undefined
      node = this.#child(node, key, value)
    }
    return node
  }

  /** A key already built for this text and variant with the options of `leaf`. */
  findKey(leaf: OptionsLeaf, text: string, variant: { readonly [K in keyof KeyVariant]?: KeyVariant[K] | undefined }): string | undefined {
    const variants = leaf.keys?.get(text)
    if (variants === undefined) return undefined
    const stream = variant.stream === true
    for (const known of variants) {
      if (known.operation === variant.operation && known.tenant === variant.tenant && known.question === variant.question && known.stream === stream) {
        return known.key
      }
    }
    return undefined
  }

  /** Remembers a key built for this text and variant with the options of `leaf`. */
  rememberKey(leaf: OptionsLeaf, text: string, variant: KeyVariant, key: string): void {
    if (text.length > MAX_TEXT) return
    leaf.keys ??= new Map()
    let variants = leaf.keys.get(text)
    if (variants === undefined) {
      this.#textChars += text.length
      variants = []
      leaf.keys.set(text, variants)
    }
    if (variants.length >= MAX_VARIANTS) variants.shift()
    variants.push({ ...variant, key })
    if (++this.#nodes > MAX_NODES || this.#textChars > MAX_TEXT_CHARS) this.#clear()
  }

  #child(node: OptionsLeaf, key: string, value: unknown): OptionsLeaf {
    let byValue = node.lastKey === key ? node.lastByValue : node.children.get(key)
    if (byValue === undefined) {
      byValue = new Map()
      node.children.set(key, byValue)
    }
    node.lastKey = key
    node.lastByValue = byValue
    let child = byValue.get(value)
    if (child === undefined) {
      if (++this.#nodes > MAX_NODES) this.#clear()
      child = newLeaf()
      byValue.set(value, child)
    }
    return child
  }

  #clear(): void {
    // A walk in progress keeps its detached nodes and completes; only later calls start afresh.
    this.#root = newLeaf()
    this.#nodes = 0
    this.#textChars = 0
  }
}

function newLeaf(): OptionsLeaf {
  return { children: new Map(), lastKey: undefined, lastByValue: undefined, digest: undefined, keys: undefined }
}

/** Values the trie may key on: Map keys compare by SameValueZero, which matches their canonical forms. */
function isFlatValue(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_STRING
    case 'number':
    case 'boolean':
    case 'bigint':
      return true
    default:
      return value === null
  }
}
