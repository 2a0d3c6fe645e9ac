/**
 * GenericRedisCache against the same model as InMemoryCache (a Map with expiry and tags), with
 * and without its L1, on a real redis-server: random sequences of set, get, getOrSet, delete,
 * invalidateTags, exists, getTtl and fake-clock advances, one call at a time.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import type { L1Options } from '../../../src/options/cache-options.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { modelProperty } from '../../helpers/model-cache.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** Fixed, so a failure replays; fast-check prints the shrunk counterexample. */
const SEED = 20_240_611
const NUM_RUNS = 300

describe.skipIf(!hasRedis)('GenericRedisCache against the model', () => {
  const server = useRedisServer()

  const variants: Array<{ label: string; l1: L1Options | false }> = [
    { label: 'with L1', l1: { maxEntries: 100 } },
    { label: 'without L1', l1: false },
  ]

  it.each(variants)('answers every call of a random sequence as the model does ($label)', async ({ l1 }) => {
    let runs = 0
    await fc.assert(
      modelProperty(async (clock) => {
        runs++
        // A namespace per run: nothing of an earlier run (or its shrinking) can leak into this one.
        const cache = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('model'), l1, clock, defaultTtl: '1h' })
        expect(await cache.connect()).toBe(true)
        return {
          cache,
          dispose: async () => {
            await cache.clear()
            await cache.disconnect()
          },
        }
      }, 'by-write'),
      { numRuns: NUM_RUNS, seed: SEED },
    )
    expect(runs).toBeGreaterThanOrEqual(NUM_RUNS)
    // Each run opens a cache with its two connections (data and invalidation).
  }, 120_000)
})
