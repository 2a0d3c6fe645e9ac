import { globMatcher } from '../shared/key.js'
import type { Recorder } from './recorder.js'
import { type RemoteOutcome, type RemoteTier, failureReason } from './remote-tier.js'

/** Most queued keys, patterns and tags before the queue collapses into one namespace clear. */
const MAX_PENDING = 10_000

/** What is still to be invalidated in Redis, once it can be reached. */
export interface PendingBatch {
  readonly all: boolean
  readonly keys: readonly string[]
  readonly patterns: readonly string[]
  readonly tags: readonly string[]
  /** The queue's version when the batch was taken: items queued later are kept by `applied`. */
  readonly version: number
}

/**
 * Invalidations that could not reach Redis, kept until they can be applied: deduplicated and
 * bounded. Past {@link MAX_PENDING} items the queue collapses into "clear the namespace", the
 * one invalidation that covers them all (it costs a cold cache after the outage, never a
 * stale value).
 *
 * While something is pending, Redis may still hold values this process has invalidated. The
 * engine starts a drain before any other L2 call, treats what the queue still covers as a
 * miss, lets a write of a queued key supersede its queued delete, and makes writes wait for
 * queued patterns, tags and clears: a queued invalidation is applied before any newer write to
 * the same keys, and no read returns what it invalidated.
 */
export class PendingInvalidations {
  #version = 0
  /** Version at which "everything" was queued, 0 when it is not. */
  #all = 0
  /** Each queued item with the version at which it was (last) queued. */
  readonly #keys = new Map<string, number>()
  readonly #patterns = new Map<string, { matches: (key: string) => boolean; version: number }>()
  readonly #tags = new Map<string, number>()

  get size(): number {
    return (this.#all > 0 ? 1 : 0) + this.#keys.size + this.#patterns.size + this.#tags.size
  }

  /** Whether a write must wait for the queue: patterns, tags or a clear could delete what it writes. */
  get needsDrainBeforeWrites(): boolean {
    return this.#all > 0 || this.#patterns.size > 0 || this.#tags.size > 0
  }

  addKeys(keys: readonly string[]): void {
    const version = ++this.#version
    for (const key of keys) this.#keys.set(key, version)
    this.#bound()
  }

  addPattern(pattern: string): void {
    this.#patterns.set(pattern, { matches: globMatcher(pattern), version: ++this.#version })
    this.#bound()
  }

  addTags(tags: readonly string[]): void {
    const version = ++this.#version
    for (const tag of tags) this.#tags.set(tag, version)
    this.#bound()
  }

  addAll(): void {
    this.#all = ++this.#version
    this.#keys.clear()
    this.#patterns.clear()
    this.#tags.clear()
  }

  /** A write of `key` replaces its value in Redis, so a queued delete of that key is moot. */
  supersede(key: string): void {
    this.#keys.delete(key)
  }

  /** Whether a value of `key` with `tags`, read from Redis now, may predate a queued invalidation. */
  covers(key: string, tags?: readonly string[]): boolean {
    if (this.#all > 0 || this.#keys.has(key)) return true
    for (const { matches } of this.#patterns.values()) if (matches(key)) return true
    if (tags !== undefined) for (const tag of tags) if (this.#tags.has(tag)) return true
    return false
  }

  snapshot(): PendingBatch {
    return {
      all: this.#all > 0,
      keys: [...this.#keys.keys()],
      patterns: [...this.#patterns.keys()],
      tags: [...this.#tags.keys()],
      version: this.#version,
    }
  }

  /** Removes what a drain applied; anything queued again after the batch was taken stays. */
  applied(batch: PendingBatch): void {
    const done = (version: number | undefined) => version !== undefined && version <= batch.version
    if (batch.all && done(this.#all)) this.#all = 0
    for (const key of batch.keys) if (done(this.#keys.get(key))) this.#keys.delete(key)
    for (const pattern of batch.patterns) if (done(this.#patterns.get(pattern)?.version)) this.#patterns.delete(pattern)
    for (const tag of batch.tags) if (done(this.#tags.get(tag))) this.#tags.delete(tag)
  }

  /**
   * Applies what is queued in one pass, the namespace clear first; a step that fails is
   * reported and stops the pass, and it stays queued for the next one.
   */
  async drain(l2: RemoteTier, recorder: Pick<Recorder, 'failure'>): Promise<void> {
    // While Redis is away or the breaker open, an attempt would only be skipped and reported.
    if (!l2.available || this.size === 0) return
    const batch = this.snapshot()
    const steps: Array<() => Promise<RemoteOutcome<unknown>>> = []
    if (batch.all) steps.push(() => l2.clear())
    for (const pattern of batch.patterns) steps.push(() => l2.deletePattern(pattern))
    if (batch.tags.length > 0) steps.push(() => l2.deleteTags(batch.tags))
    if (batch.keys.length > 0) steps.push(() => l2.deleteKeys(batch.keys))
    for (const step of steps) {
      const outcome = await step()
      if (outcome.kind !== 'ok') {
        recorder.failure(outcome.error, failureReason(outcome), 'invalidate:queued')
        return
      }
    }
    this.applied(batch)
  }

  #bound(): void {
    if (this.size > MAX_PENDING) this.addAll()
  }
}
