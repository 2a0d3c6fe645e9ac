/**
 * A loader that never settles must not hold its key for the life of the process: a hard timeout,
 * or a delete, releases the key for new loads, and callers that gave up are not retained.
 */
import { describe, expect, it } from 'vitest'
import { InMemoryCache } from '../../../src/index.js'

const never = () => new Promise<never>(() => undefined)

describe('a loader that never settles', () => {
  it('after its hard timeout, the next getOrSet runs its own loader', async () => {
    const cache = new InMemoryCache()
    await expect(cache.getOrSet('k', never, { timeout: { hard: 20 } })).rejects.toMatchObject({ code: 'E_FACTORY_TIMEOUT' })
    expect(await cache.getOrSet('k', () => 'fresh', { timeout: { hard: 20 } })).toBe('fresh')
  })

  it('without a hard timeout, a delete releases the key: the next getOrSet runs its own loader', async () => {
    const cache = new InMemoryCache()
    const hung = cache.getOrSet('k', never)
    let settled = false
    void hung.then(
      () => (settled = true),
      () => (settled = true),
    )
    await new Promise((resolve) => setTimeout(resolve, 10))
    await cache.delete('k')
    expect(await cache.getOrSet('k', () => 'fresh')).toBe('fresh')
    expect(await cache.get('k')).toBe('fresh')
    // The first caller still waits for its own loader: only it can settle that promise.
    expect(settled).toBe(false)
  })

  it('a hard timeout after delete and invalidation alike never blocks later loads, over many rounds', async () => {
    const cache = new InMemoryCache()
    for (let round = 0; round < 50; round++) {
      const hung = cache.getOrSet(`k${round % 3}`, never, { timeout: { hard: 1 } }).catch((error: { code?: string }) => error.code)
      if (round % 2 === 0) await cache.delete(`k${round % 3}`)
      expect(await hung).toBe('E_FACTORY_TIMEOUT')
      expect(await cache.getOrSet(`k${round % 3}`, () => round, { timeout: { hard: 50 } })).toBe(round)
      await cache.delete(`k${round % 3}`)
    }
  })
})
