import { cacheEvents } from '../monitoring/events.js'
import type { InvalidationKind } from '../monitoring/monitor-sink.js'
import type { CacheStack } from './cache-stack.js'
import { globToRegExp } from '../shared/key.js'
import type { SingleFlight } from './single-flight.js'

/**
 * Deletes by key, pattern, tag or namespace, in both tiers, and marks running loads of the
 * deleted keys so their (possibly stale) results are not cached. Arguments are validated by
 * the caller.
 */
export class Invalidator {
  readonly #stack: CacheStack
  readonly #flights: SingleFlight

  constructor(stack: CacheStack, flights: SingleFlight) {
    this.#stack = stack
    this.#flights = flights
  }

  async deleteKeys(keys: readonly string[]): Promise<number> {
    keys.forEach((key) => this.#flights.invalidate(key))
    const remote = await this.#stack.l2?.deleteMany(keys)
    let local = 0
    for (const key of keys) if (this.#stack.l1?.delete(key)) local++
    return this.#deleted('delete', keys, remote ?? local)
  }

  async pattern(pattern: string): Promise<number> {
    const regex = globToRegExp(pattern)
    this.#flights.invalidateWhere((key) => regex.test(key))
    const remote = await this.#stack.l2?.deletePattern(pattern)
    // Stale entries kept for grace go too: an invalidated value must never come back as a fallback.
    const localKeys = [...(this.#stack.l1?.keys(true) ?? [])].filter((key) => regex.test(key))
    localKeys.forEach((key) => this.#stack.l1?.delete(key))
    return this.#deleted('pattern', localKeys, remote ?? localKeys.length)
  }

  async tags(tags: readonly string[]): Promise<number> {
    const remote = await this.#stack.l2?.deleteTags(tags)
    const keys = new Set<string>(remote?.keys)
    for (const tag of tags) for (const key of this.#stack.l1?.keysWithTag(tag) ?? []) keys.add(key)
    let local = 0
    for (const key of keys) {
      this.#flights.invalidate(key)
      if (this.#stack.l1?.delete(key)) local++
    }
    return this.#deleted('tag', [...keys], remote?.removed ?? local)
  }

  #deleted(kind: InvalidationKind, keys: readonly string[], count: number): number {
    const { stats, events } = this.#stack
    this.#stack.instr.invalidation(kind, count)
    stats.deletes += count
    if (events.has('cache:delete')) for (const key of keys) events.emit(cacheEvents.delete(key))
    return count
  }

  async clear(): Promise<void> {
    this.#flights.invalidateWhere()
    const localCount = this.#stack.l1?.size ?? 0
    const remote = await this.#stack.l2?.deletePattern('*', true)
    this.#stack.l1?.clear()
    this.#stack.instr.invalidation('clear', remote ?? localCount)
  }
}
