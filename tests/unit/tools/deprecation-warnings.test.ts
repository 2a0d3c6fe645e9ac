/**
 * Each deprecated name warns once per process, with its code; nothing else warns. The warned set
 * is module state, and vitest gives every test file its own module graph, so this file starts with
 * no warning emitted.
 */
import { type Store, caching } from 'cache-manager-5'
import { afterAll, describe, expect, it } from 'vitest'

import { CacheCompatibilityWrapper, type CacheManagerAdapter, DEPRECATIONS, InMemoryCache } from '../../../src/index.js'

const warnings: Error[] = []
const onWarning = (warning: Error): void => {
  warnings.push(warning)
}
process.on('warning', onWarning)
afterAll(() => {
  process.off('warning', onWarning)
})

/** `process.emitWarning` delivers on the next tick. */
const settle = () => new Promise((resolve) => setImmediate(resolve))
const codesSeen = () => warnings.map((warning) => (warning as Error & { code?: string }).code).filter((code) => code?.startsWith('STRATA_DEP_'))

describe('deprecated cache-manager 5 names', () => {
  it('the current API warns nothing', async () => {
    const adapter = CacheCompatibilityWrapper.cacheManager(new InMemoryCache())
    const listener = () => {}
    adapter.on('set', listener)
    await adapter.set('k', 1)
    await adapter.wrap('w', () => 1)
    await adapter.clear()
    adapter.off('set', listener)
    await settle()
    expect(codesSeen()).toEqual([])
  })

  it.each([
    ['reset', 'STRATA_DEP_001', (adapter: CacheManagerAdapter): unknown => adapter.reset()],
    ['store', 'STRATA_DEP_002', (adapter: CacheManagerAdapter): unknown => adapter.store.name],
    ['removeListener', 'STRATA_DEP_003', (adapter: CacheManagerAdapter): unknown => adapter.removeListener('set', () => {})],
  ] as const)('%s warns %s exactly once per process, across adapters', async (_name, code, use) => {
    const before = warnings.length
    for (const adapter of [CacheCompatibilityWrapper.cacheManager(new InMemoryCache()), CacheCompatibilityWrapper.cacheManager(new InMemoryCache())]) {
      await use(adapter)
      await use(adapter)
    }
    await settle()
    const emitted = warnings.slice(before)
    expect(emitted).toHaveLength(1)
    expect(emitted[0]?.name).toBe('DeprecationWarning')
    expect((emitted[0] as Error & { code?: string }).code).toBe(code)
    expect(emitted[0]?.message).toBe(DEPRECATIONS[code])
  })

  it('every code in the table is warned by exactly one name (no code left unused or shared)', async () => {
    await settle()
    expect(codesSeen().sort()).toEqual(Object.keys(DEPRECATIONS).sort())
  })

  it('reset still clears and removeListener still removes', async () => {
    const adapter = CacheCompatibilityWrapper.cacheManager(new InMemoryCache())
    await adapter.set('k', 1)
    await adapter.reset()
    expect(await adapter.get('k')).toBeUndefined()
    let calls = 0
    const listener = () => calls++
    adapter.on('set', listener)
    adapter.removeListener('set', listener)
    await adapter.set('k', 1)
    expect(calls).toBe(0)
  })
})

/** The v5 store methods, run against cache-manager 5's own memory store and against `store`. */
describe.each([
  ['cache-manager 5 memory store (the original)', async (): Promise<Store> => (await caching('memory')).store],
  ['CacheCompatibilityWrapper.cacheManager().store', async (): Promise<Store> => CacheCompatibilityWrapper.cacheManager(new InMemoryCache()).store],
] as const)('v5 store API: %s', (_name, make) => {
  it('get, set with a ttl in ms, del', async () => {
    const store = await make()
    await store.set('k', { a: 1 }, 60_000)
    expect(await store.get('k')).toEqual({ a: 1 })
    await store.del('k')
    expect(await store.get('k')).toBeUndefined()
  })

  it('mset takes [key, value] tuples; mget and mdel take keys as arguments', async () => {
    const store = await make()
    await store.mset([
      ['a', 1],
      ['b', 2],
    ])
    expect(await store.mget('a', 'b', 'c')).toEqual([1, 2, undefined])
    await store.mdel('a', 'b')
    expect(await store.mget('a', 'b')).toEqual([undefined, undefined])
  })

  it('keys lists the keys, ttl resolves the remaining ms, reset empties the store', async () => {
    const store = await make()
    await store.set('x', 1, 60_000)
    await store.set('y', 2)
    expect((await store.keys()).sort()).toEqual(['x', 'y'])
    const remaining = await store.ttl('x')
    expect(remaining).toBeGreaterThan(59_000)
    expect(remaining).toBeLessThanOrEqual(60_000)
    await store.reset()
    expect(await store.keys()).toEqual([])
  })
})
