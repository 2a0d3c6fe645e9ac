/**
 * A model of what a cache must answer to one caller making one call at a time, and a fast-check
 * runner that plays random operation sequences on a real cache and on the model side by side.
 *
 * ```ts
 * await fc.assert(modelProperty(async (clock) => ({ cache: new InMemoryCache({ clock }) })), { numRuns: 200, seed: 1 })
 * ```
 * Time is a fake clock moved by `advance` operations; ttls are at least a minute of fake time so
 * that Redis' physical expiry (in real time) never interferes while a run lasts seconds.
 */
import fc from 'fast-check'
import type { CacheInterface } from '../../src/core/cache-interface.js'
import { FakeClock } from './fake-clock.js'

export const MODEL_KEYS = ['k1', 'k2', 'k3'] as const
export const MODEL_TAGS = ['a', 'b', 'c'] as const
/** `0` never expires. */
export const MODEL_TTLS = [0, 60_000, 90_000] as const

/** One operation of a run; the value a write stores is the operation's index in the run. */
export type ModelOp =
  | { op: 'set'; key: string; ttl: number; tags: string[] }
  | { op: 'getOrSet'; key: string; ttl: number; tags: string[] }
  | { op: 'get'; key: string }
  | { op: 'exists'; key: string }
  | { op: 'getTtl'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'invalidateTags'; tags: string[] }
  | { op: 'advance'; ms: number }

interface ModelEntry {
  readonly value: number
  /** Fake-clock ms; `undefined` never expires. */
  readonly expiresAt: number | undefined
  readonly tags: readonly string[]
  /** Every tag written with the key since it last left the cache (see `tagIndex`). */
  readonly indexed: readonly string[]
}

/**
 * How `invalidateTags` finds entries. `exact`: by the entry's current tags (the memory tier's
 * own index). `by-write`: by every tag the key was written with since it last left the cache,
 * as Redis' tag indexes do (an index is pruned when its members expire, not when a key is
 * rewritten without the tag), so a rewritten key may go too: more is deleted, nothing stale stays.
 */
export type TagIndexModel = 'exact' | 'by-write'

/**
 * The reference: a Map with expiry and tags. An entry is fresh while `expiresAt > now`. Expired
 * entries stay in the map because a backend may still hold them physically, which only matters
 * for the counts that `delete` and `invalidateTags` resolve.
 */
export class CacheModel {
  readonly #entries = new Map<string, ModelEntry>()
  readonly #tagIndex: TagIndexModel
  now: number

  constructor(now: number, tagIndex: TagIndexModel = 'exact') {
    this.now = now
    this.#tagIndex = tagIndex
  }

  fresh(key: string): ModelEntry | undefined {
    const entry = this.#entries.get(key)
    return entry !== undefined && isFreshAt(entry, this.now) ? entry : undefined
  }

  set(key: string, value: number, ttl: number, tags: readonly string[]): void {
    const earlier = this.#entries.get(key)?.indexed ?? []
    const indexed = [...new Set([...earlier, ...tags])]
    this.#entries.set(key, { value, expiresAt: ttl === 0 ? undefined : this.now + ttl, tags, indexed })
  }

  get(key: string): number | undefined {
    return this.fresh(key)?.value
  }

  ttl(key: string): number | undefined {
    const entry = this.fresh(key)
    if (entry === undefined) return undefined
    return entry.expiresAt === undefined ? Infinity : entry.expiresAt - this.now
  }

  /** Removes the key; `true` or `false` when the answer is known, `undefined` when either is right. */
  delete(key: string): boolean | undefined {
    const entry = this.#entries.get(key)
    this.#entries.delete(key)
    if (entry === undefined) return false
    return isFreshAt(entry, this.now) ? true : undefined
  }

  /** Removes entries carrying any of `tags`; the count must lie within [fresh ones, all held ones]. */
  invalidateTags(tags: readonly string[]): { min: number; max: number } {
    let min = 0
    let max = 0
    for (const [key, entry] of this.#entries) {
      const found = this.#tagIndex === 'exact' ? entry.tags : entry.indexed
      if (!found.some((tag) => tags.includes(tag))) continue
      max++
      if (isFreshAt(entry, this.now)) min++
      this.#entries.delete(key)
    }
    return { min, max }
  }
}

function isFreshAt(entry: ModelEntry, now: number): boolean {
  return entry.expiresAt === undefined || entry.expiresAt > now
}

const key = fc.constantFrom(...MODEL_KEYS)
const tags = fc.subarray([...MODEL_TAGS], { maxLength: 2 })
const ttl = fc.constantFrom(...MODEL_TTLS)
/** Advances that land on ttl boundaries often, plus any amount up to 120 s. */
const advanceMs = fc.oneof(
  fc.constantFrom(0, 1, 30_000, 59_999, 60_000, 60_001, 90_000, 120_000),
  fc.integer({ min: 0, max: 120_000 }),
)

/** One random operation, weighted towards writes and reads of the few keys. */
export const modelOp: fc.Arbitrary<ModelOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), key, ttl, tags }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('getOrSet' as const), key, ttl, tags }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exists' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('getTtl' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('invalidateTags' as const), tags: fc.subarray([...MODEL_TAGS], { minLength: 1, maxLength: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: advanceMs }) },
)

export const modelOps: fc.Arbitrary<ModelOp[]> = fc.array(modelOp, { minLength: 1, maxLength: 40 })

/** A cache under test, built on the run's clock; `dispose` runs after the run, pass or fail. */
export interface ModelTarget {
  cache: CacheInterface
  dispose?: () => Promise<void>
}

/** Thrown at the first answer that differs from the model, with the step and both answers. */
export class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch'
}

/** Plays `ops` on `cache` one at a time, each awaited, checking every answer against the model. */
export async function runAgainstModel(cache: CacheInterface, clock: FakeClock, ops: readonly ModelOp[], tagIndex: TagIndexModel = 'exact'): Promise<void> {
  const model = new CacheModel(clock.now(), tagIndex)
  const fail = (step: number, op: ModelOp, expected: unknown, actual: unknown): never => {
    throw new ModelMismatch(
      `step ${step} ${JSON.stringify(op)} at t+${clock.now() - start}: expected ${show(expected)}, got ${show(actual)}`,
    )
  }
  const start = clock.now()
  for (const [step, op] of ops.entries()) {
    switch (op.op) {
      case 'set': {
        await cache.set(op.key, step, { ttl: op.ttl, tags: op.tags })
        model.set(op.key, step, op.ttl, op.tags)
        break
      }
      case 'getOrSet': {
        let calls = 0
        const got = await cache.getOrSet(
          op.key,
          () => {
            calls++
            return step
          },
          { ttl: op.ttl, tags: op.tags },
        )
        const cached = model.get(op.key)
        const expected = cached ?? step
        if (got !== expected || calls !== (cached === undefined ? 1 : 0)) {
          fail(step, op, { value: expected, loaderCalls: cached === undefined ? 1 : 0 }, { value: got, loaderCalls: calls })
        }
        if (cached === undefined) model.set(op.key, step, op.ttl, op.tags)
        break
      }
      case 'get': {
        const got = await cache.get(op.key)
        if (got !== model.get(op.key)) fail(step, op, model.get(op.key), got)
        break
      }
      case 'exists': {
        const got = await cache.exists(op.key)
        if (got !== (model.get(op.key) !== undefined)) fail(step, op, model.get(op.key) !== undefined, got)
        break
      }
      case 'getTtl': {
        const got = await cache.getTtl(op.key)
        if (got !== model.ttl(op.key)) fail(step, op, model.ttl(op.key), got)
        break
      }
      case 'delete': {
        const got = await cache.delete(op.key)
        const expected = model.delete(op.key)
        if (expected !== undefined && got !== expected) fail(step, op, expected, got)
        break
      }
      case 'invalidateTags': {
        const got = await cache.invalidateTags(op.tags)
        const { min, max } = model.invalidateTags(op.tags)
        if (!(got >= min && got <= max)) fail(step, op, min === max ? min : `${min}..${max}`, got)
        break
      }
      case 'advance': {
        clock.advance(op.ms)
        model.now = clock.now()
        break
      }
    }
  }
}

function show(value: unknown): string {
  return value === undefined ? 'undefined' : value === Infinity ? 'Infinity' : JSON.stringify(value)
}

/**
 * The property: for every generated sequence, a fresh cache built by `make` (on a fresh fake
 * clock) answers like the model.
 */
export function modelProperty(
  make: (clock: FakeClock) => Promise<ModelTarget>,
  tagIndex: TagIndexModel = 'exact',
): fc.IAsyncPropertyWithHooks<[ModelOp[]]> {
  return fc.asyncProperty(modelOps, async (ops) => {
    const clock = new FakeClock()
    const { cache, dispose } = await make(clock)
    try {
      await runAgainstModel(cache, clock, ops, tagIndex)
    } finally {
      await dispose?.()
    }
  })
}
