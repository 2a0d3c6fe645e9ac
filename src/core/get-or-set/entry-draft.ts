import { InvalidOptionsError, type OptionIssue } from '../../errors.js'
import type { Duration } from '../../shared/duration.js'
import { parseDuration } from '../../shared/duration.js'
import type { ResolvedGetOrSetPolicy } from '../../options/get-or-set-options.js'
import type { LoaderContext } from '../cache-interface.js'
import type { EntryShape } from '../entry-builder.js'
import { assertValidTags } from '../../shared/key.js'

/**
 * The loader's view of the entry it is producing. Starts from the call's policy; the loader may
 * change the ttl and tags, or decline caching, before the entry is written.
 */
export class EntryDraft<T> implements LoaderContext<T>, EntryShape {
  readonly key: string
  readonly staleValue: T | undefined
  ttlMs: number
  tags: readonly string[]
  readonly graceMs: number
  readonly ttlJitter: number
  skipped = false

  readonly #onTags: (tags: readonly string[]) => void

  /** `onTags` learns of `setTags`, so invalidations of those tags reach the running load. */
  constructor(key: string, policy: ResolvedGetOrSetPolicy, staleValue: T | undefined, onTags: (tags: readonly string[]) => void) {
    this.#onTags = onTags
    this.key = key
    this.staleValue = staleValue
    this.ttlMs = policy.ttlMs
    this.tags = policy.tags
    this.graceMs = policy.graceMs
    this.ttlJitter = policy.ttlJitter
  }

  setTtl(ttl: Duration): void {
    const issues: OptionIssue[] = []
    const ms = parseDuration(ttl, 'ttl', issues)
    if (ms === undefined) throw new InvalidOptionsError(issues)
    this.ttlMs = ms
  }

  setTags(tags: readonly string[]): void {
    assertValidTags(tags)
    this.tags = [...tags]
    this.#onTags(this.tags)
  }

  skipCache(): void {
    this.skipped = true
  }
}
