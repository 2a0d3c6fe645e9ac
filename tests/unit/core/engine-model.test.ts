/**
 * The engine against a simple model (a Map with expiry and tags): random sequences of set, get,
 * getOrSet, delete, invalidateTags, exists, getTtl and clock advances, one call at a time.
 */
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { modelProperty } from '../../helpers/model-cache.js'

/** Fixed, so a failure replays; fast-check prints the shrunk counterexample. */
const SEED = 20_240_611

describe('InMemoryCache against the model', () => {
  it('answers every call of a random sequence as the model does', async () => {
    await fc.assert(
      modelProperty(async (clock) => ({ cache: new InMemoryCache({ namespace: uniqueNamespace('model'), clock, defaultTtl: '1h' }) })),
      { numRuns: 500, seed: SEED },
    )
  })
})
