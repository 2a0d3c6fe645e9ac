/**
 * Type tests: checked by `npm run typecheck` (tsc), pinning what users' code infers from the
 * public API. A change that breaks inference fails CI without any test running.
 */
import { expectTypeOf } from 'vitest'
import {
  AIResponseCache,
  type CacheInterface,
  type CacheStats,
  GenericRedisCache,
  InMemoryCache,
  type LoaderContext,
  errors,
} from '../../src/index.js'

declare const cache: CacheInterface
interface User {
  id: number
  name: string
}

// getOrSet infers the loader's type: `undefined` only when the loader's own type allows it.
declare function loadUser(id: number): Promise<User>
declare function findUser(id: number): Promise<User | undefined>
expectTypeOf(cache.getOrSet('user:1', () => loadUser(1))).resolves.toEqualTypeOf<User>()
expectTypeOf(cache.getOrSet('user:1', () => findUser(1))).resolves.toEqualTypeOf<User | undefined>()
expectTypeOf(cache.getOrSet('n', () => 42)).resolves.toEqualTypeOf<number>()
expectTypeOf(cache.getOrSet('n', () => null)).resolves.toEqualTypeOf<null>()
expectTypeOf(cache.get<User>('user:1')).resolves.toEqualTypeOf<User | undefined>()
expectTypeOf(cache.getMany<User>(['a', 'b'])).resolves.toEqualTypeOf<Array<User | undefined>>()
expectTypeOf(cache.getOrSetMany(['a'], async (keys) => new Map(keys.map((k) => [k, k.length])))).resolves.toEqualTypeOf<
  Array<number | undefined>
>()

// The loader's context is typed by the value type. TypeScript cannot infer a type argument from
// a callback whose own parameter depends on it, so a loader that reads `ctx.staleValue` names it.
void cache.getOrSet<number>('n', (ctx) => {
  expectTypeOf(ctx).toEqualTypeOf<LoaderContext<number>>()
  expectTypeOf(ctx.staleValue).toEqualTypeOf<number | undefined>()
  return 1
})

// Durations are numbers (ms) or unit strings; anything else does not compile.
void cache.set('k', 1, { ttl: '10m' })
void cache.set('k', 1, { ttl: 500 })
// @ts-expect-error: '10 minutes' is not a Duration
void cache.set('k', 1, { ttl: '10 minutes' })

// Both concrete caches are CacheInterface; the AI cache takes either.
expectTypeOf(new InMemoryCache()).toMatchTypeOf<CacheInterface>()
expectTypeOf(new GenericRedisCache()).toMatchTypeOf<CacheInterface>()
expectTypeOf(new AIResponseCache(new InMemoryCache())).toMatchTypeOf<AIResponseCache>()

// Events carry typed payloads.
cache.on('cache:hit', (data) => expectTypeOf(data.tier).toEqualTypeOf<'l1' | 'l2'>())
cache.on('cache:error', (data) => expectTypeOf(data.error.code).toEqualTypeOf<string>())

// Stats and errors.
expectTypeOf(cache.getStats()).toEqualTypeOf<CacheStats>()
expectTypeOf(cache.getStats().backendType).toEqualTypeOf<'memory' | 'redis'>()
expectTypeOf(errors.E_INVALID_KEY.code).toBeString()
