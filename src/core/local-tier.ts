import { LRUCache } from 'lru-cache'
import type { ResolvedL1Options } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { type Clock, systemClock } from '../shared/clock.js'
import { WORD, estimateHeapSize, numberHeapSize, stringHeapSize } from './size-estimate.js'

/**
 * What each entry costs besides its value, in bytes (64-bit Node, see `estimateHeapSize`).
 *
 * lru-cache's key Map (an OrderedHashMap: 28 bytes a capacity slot) is charged at its average:
 * under eviction churn V8 keeps its capacity between 2 and 4 times the entry count (it rehashes
 * in place only once half the slots hold deleted keys), so it costs 56 to 112 bytes an entry.
 * This spread is the bound's main error for tiny entries (about ±10% at ~250 bytes an entry).
 */
const KEY_MAP_SHARE = 84
/** The CacheEntry object: header, then value, createdAt, expiresAt, tags (and staleUntil). */
const ENTRY_HEADER = 24
/** A non-empty tags array (JSArray + FixedArray headers), and each tag's slot in the tag index Set. */
const TAGS_ARRAY = 48
const TAG_INDEX_SHARE = 56
/** An empty JSArray (its elements are V8's shared empty FixedArray). */
const EMPTY_ARRAY = 32

/**
 * lru-cache's per-slot arrays in the growable mode used under `maxBytes` (no `max`), 8 bytes a
 * slot each: keyList, valList, next and prev are plain arrays that start empty; sizes, ttls
 * and starts are its `ZeroArray` subclass, which starts with room for 4. V8 grows a full array
 * to 1.5x + 16 and never shrinks it, so their capacity follows the most entries ever held.
 */
const PLAIN_SLOT_ARRAYS = 4
const ZERO_SLOT_ARRAYS = 3
const ZERO_ARRAY_START = 4
/** JSArray object and FixedArray header of each of the seven. */
const SLOT_ARRAYS_SHELL = 7 * (32 + 16)

function grownCapacity(capacity: number): number {
  return capacity + 1 + ((capacity + 1) >> 1) + 16
}

/** Estimated heap bytes of one L1 entry: key, entry object and its numbers, tags, value, key Map share. */
export function entryHeapSize(key: string, entry: CacheEntry): number {
  let bytes = KEY_MAP_SHARE + stringHeapSize(key) + ENTRY_HEADER + numberHeapSize(entry.createdAt)
  bytes += 4 * WORD + (entry.expiresAt === undefined ? 0 : numberHeapSize(entry.expiresAt))
  if (entry.staleUntil !== undefined) bytes += WORD + numberHeapSize(entry.staleUntil)
  if (entry.tags.length > 0) bytes += TAGS_ARRAY + entry.tags.length * (WORD + TAG_INDEX_SHARE)
  return bytes + estimateHeapSize(entry.value)
}

/**
 * The in-process L1 tier: values are kept as they are (no serialization), so a hit costs one
 * map lookup and no promise. Bounded by entries and, with `maxBytes`, by its estimated heap:
 * the entries' estimates ({@link entryHeapSize}) plus lru-cache's slot arrays stay within it.
 * Per-entry TTL is taken from the entry's logical expiry. Keeps a tag → keys index for tag
 * invalidation.
 *
 * Values are shared by reference: a caller that mutates a value it got back mutates the
 * cached copy too. That is the price of allocation-free hits.
 */
export class LocalTier {
  #lru: LRUCache<string, CacheEntry>
  readonly #clock: Clock
  #tagIndex = new Map<string, Set<string>>()
  readonly #create: () => LRUCache<string, CacheEntry>
  readonly #maxEntries: number
  /** The byte bound, checked against entries' estimates plus lru-cache's slot arrays. */
  readonly #maxBytes: number | undefined
  /** Under `maxBytes`: slots lru-cache's arrays hold (the most entries ever held), and their capacities. */
  #slots = 0
  #plainCapacity = 0
  #zeroCapacity = ZERO_ARRAY_START
  /** The last empty tags array seen: a cache's writes share one, entries decoded from L2 have their own. */
  #emptyTags: readonly string[] | undefined

  constructor(options: ResolvedL1Options, clock: Clock) {
    this.#clock = clock
    this.#maxBytes = options.maxBytes
    this.#maxEntries = options.maxEntries
    const lruOptions: LRUCache.Options<string, CacheEntry, unknown> = {
      // Under maxBytes, lru-cache gets no `max`: with one it allocates its slot arrays for `max`
      // entries up front, whatever they hold. Its arrays then grow with the entries, and this
      // class enforces maxEntries and charges the arrays against maxBytes itself.
      ...(options.maxBytes === undefined
        ? { max: this.#maxEntries, maxEntrySize: Number.MAX_SAFE_INTEGER }
        : // A default ttl (every set passes its own) starts TTL tracking now, so its two arrays
          // grow along with the others rather than from an arbitrary slot later.
          { maxSize: options.maxBytes, maxEntrySize: options.maxBytes, ttl: Number.MAX_SAFE_INTEGER }),
      // With the system clock, lru-cache reads time at most once per ms (ttlResolution 1): an
      // entry may be served up to 1 ms past its expiry, and a hit costs no clock read. An
      // injected clock is read on every check, so tests see time move at once.
      ...(clock === systemClock ? {} : { perf: clock, ttlResolution: 0 }),
      dispose: (entry, key) => this.#unindex(key, entry),
    }
    this.#create = () => new LRUCache(lruOptions)
    this.#lru = this.#create()
  }

  /**
   * The entry, or `undefined` when missing or past its expiry and grace. lru-cache checks that
   * (each entry's lru TTL is its remaining lifetime), so a hit reads no clock of its own. An
   * entry with `staleUntil` may be past its ttl: callers check freshness.
   */
  get(key: string): CacheEntry | undefined {
    return this.#lru.get(key)
  }

  /**
   * Stores an entry until the end of its grace (or its expiry). An entry past both is dropped,
   * and so is one larger than `maxBytes` (with the slot arrays): the key then holds nothing.
   */
  set(key: string, entry: CacheEntry): void {
    const until = entry.staleUntil ?? entry.expiresAt
    const ttl = until === undefined ? 0 : until - this.#clock.now()
    if (until !== undefined && ttl <= 0) {
      this.#lru.delete(key)
      return
    }
    const size = entryHeapSize(key, entry) + this.#ownEmptyTags(entry.tags)
    if (this.#maxBytes !== undefined && !this.#makeRoom(key, size, this.#maxBytes)) {
      this.#lru.delete(key)
      return
    }
    // lru-cache treats an entry as live while its age is at most its ttl; ours ends at `until`
    // itself, so the ttl stops half a millisecond short (integer clocks: gone at `until`).
    this.#lru.set(key, entry, { ttl: until === undefined ? 0 : ttl - 0.5, size })
    if (this.#maxBytes !== undefined) this.#trim(this.#maxBytes)
    if (entry.tags.length > 0 && this.#lru.peek(key) === entry) this.#index(key, entry.tags)
  }

  /**
   * Before lru-cache stores `key` under maxBytes: false when the entry cannot fit even alone. A
   * new key at maxEntries first evicts the least recently used entry. A new key takes a freed
   * slot, or else one past the last, which grows the slot arrays once they are full (`#trim`
   * then evicts for the bytes they take: the bound counts them, whatever they hold).
   */
  #makeRoom(key: string, size: number, maxBytes: number): boolean {
    if (size + this.#slotBytes(Math.max(this.#slots, 1)) > maxBytes) return false
    if (this.#lru.peek(key, { allowStale: true }) !== undefined) return true
    if (this.#lru.size >= this.#maxEntries) this.#lru.pop()
    // With no freed slot (all `#slots` in use), lru-cache appends one.
    if (this.#lru.size === this.#slots) {
      this.#slots++
      while (this.#plainCapacity < this.#slots) this.#plainCapacity = grownCapacity(this.#plainCapacity)
      while (this.#zeroCapacity < this.#slots) this.#zeroCapacity = grownCapacity(this.#zeroCapacity)
    }
    return true
  }

  /** An empty tags array of the entry's own costs an array; the one a cache's writes share, nothing. */
  #ownEmptyTags(tags: readonly string[]): number {
    if (tags.length > 0 || tags === this.#emptyTags) return 0
    this.#emptyTags = tags
    return EMPTY_ARRAY
  }

  /** Evicts least recently used entries until the estimates and the slot arrays fit maxBytes. */
  #trim(maxBytes: number): void {
    const limit = maxBytes - this.#slotBytes(this.#slots)
    while (this.#lru.size > 0 && this.#lru.calculatedSize > limit) this.#lru.pop()
  }

  /** Bytes of lru-cache's slot arrays once they hold `slots` slots (at least their present capacity). */
  #slotBytes(slots: number): number {
    let plain = this.#plainCapacity
    let zero = this.#zeroCapacity
    while (plain < slots) plain = grownCapacity(plain)
    while (zero < slots) zero = grownCapacity(zero)
    return SLOT_ARRAYS_SHELL + WORD * (PLAIN_SLOT_ARRAYS * plain + ZERO_SLOT_ARRAYS * zero)
  }

  delete(key: string): boolean {
    return this.#lru.delete(key)
  }

  /** Keys of fresh entries (with `includeStale`, also those kept for grace), most recent first. */
  *keys(includeStale = false): IterableIterator<string> {
    const now = this.#clock.now()
    for (const [key, entry] of this.#lru.entries()) {
      if (includeStale || entry.expiresAt === undefined || entry.expiresAt > now) yield key
    }
  }

  /** Keys currently tagged with `tag`. */
  keysWithTag(tag: string): string[] {
    return [...(this.#tagIndex.get(tag) ?? [])]
  }

  clear(): void {
    this.#lru.clear()
    this.#tagIndex.clear()
  }

  /** Empties the tier in O(1): a new store and index replace the old ones, left to the collector. */
  reset(): void {
    this.#lru = this.#create()
    this.#tagIndex = new Map()
    this.#slots = 0
    this.#plainCapacity = 0
    this.#zeroCapacity = ZERO_ARRAY_START
  }

  /** Number of entries held, including expired ones not yet evicted. */
  get size(): number {
    return this.#lru.size
  }

  /**
   * Estimated heap bytes held: the entries (keys, entry objects, values, lru-cache's key Map) and,
   * under maxBytes, lru-cache's slot arrays, which is the figure kept within maxBytes.
   */
  get sizeBytes(): number {
    return this.#lru.calculatedSize + (this.#maxBytes === undefined ? 0 : this.#slotBytes(this.#slots))
  }

  #index(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      let keys = this.#tagIndex.get(tag)
      if (!keys) this.#tagIndex.set(tag, (keys = new Set()))
      keys.add(key)
    }
  }

  #unindex(key: string, entry: CacheEntry): void {
    for (const tag of entry.tags) {
      const keys = this.#tagIndex.get(tag)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) this.#tagIndex.delete(tag)
    }
  }
}
