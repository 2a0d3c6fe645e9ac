/**
 * `npm start`: a cache-aside demo on a deliberately slow data source.
 * Runs in memory by default; with REDIS_URL set, the same steps run on Redis with an L1 tier.
 */
import { createServer } from 'node:net'
import { type CacheInterface, GenericRedisCache, InMemoryCache } from '../src/index.js'
import { runAIDemo } from './ai-demo.js'

const SOURCE_DELAY_MS = 40
const READS = 200
const PRODUCTS = 10

let sourceCalls = 0
/** A stand-in for a slow database query. */
async function loadProduct(id: number): Promise<{ id: number; name: string; price: number }> {
  sourceCalls++
  await new Promise((resolve) => setTimeout(resolve, SOURCE_DELAY_MS))
  return { id, name: `product ${id}`, price: 10 + id }
}

/** Reads `READS` products, 8 at a time, the way a small burst of requests would. */
async function readAll(read: (id: number) => Promise<unknown>): Promise<{ ms: number; sourceCalls: number }> {
  const before = sourceCalls
  const started = performance.now()
  for (let i = 0; i < READS; i += 8) {
    await Promise.all(Array.from({ length: 8 }, (_, j) => read((i + j) % PRODUCTS)))
  }
  return { ms: performance.now() - started, sourceCalls: sourceCalls - before }
}

function cached(cache: CacheInterface) {
  return (id: number) => cache.getOrSet(`product:${id}`, () => loadProduct(id), { ttl: '10m', tags: ['products'] })
}

function report(step: string, result: { ms: number; sourceCalls: number }, cache?: CacheInterface): void {
  const stats = cache?.getStats()
  const ratio = stats ? `  hit ratio ${(stats.hitRatio * 100).toFixed(1)}%` : ''
  console.log(`${step.padEnd(34)} ${result.ms.toFixed(0).padStart(6)} ms  source calls ${String(result.sourceCalls).padStart(3)}${ratio}`)
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL
  const cache: CacheInterface = redisUrl
    ? new GenericRedisCache({ redisUrl, namespace: 'strata-demo', l1: { maxEntries: 1000 } })
    : new InMemoryCache({ namespace: 'strata-demo', maxEntries: 1000 })
  const connected = await cache.connect()
  console.log(`strata-cache demo: ${READS} reads of ${PRODUCTS} products, source takes ${SOURCE_DELAY_MS} ms a call`)
  console.log(`backend: ${redisUrl ? `Redis (${connected ? 'connected' : 'unreachable, degraded'}) + L1` : 'in-memory'}\n`)
  await cache.clear()

  report('1. no cache', await readAll((id) => loadProduct(id)))
  report('2. with cache (cold, then warm)', await readAll(cached(cache)), cache)
  report('3. warm cache', await readAll(cached(cache)), cache)
  const removed = await cache.invalidateTags(['products'])
  report(`4. after invalidating ${removed} keys`, await readAll(cached(cache)), cache)
  await cache.disconnect()

  // Redis down: connect() answers false quickly and the cache keeps serving from L1 + loader.
  const port = await closedPort()
  const degraded = new GenericRedisCache({ redisUrl: `redis://127.0.0.1:${port}`, connectTimeout: '300ms', namespace: 'strata-demo' })
  const started = performance.now()
  const up = await degraded.connect()
  console.log(`\n5. Redis unreachable on port ${port}: connect() -> ${up} after ${(performance.now() - started).toFixed(0)} ms`)
  report('   reads while Redis is down', await readAll(cached(degraded)), degraded)
  const l2 = degraded.getStats().l2
  console.log(`   L2 connected: ${l2?.connected}, calls skipped: ${l2?.skipped}, every read answered`)
  await degraded.disconnect()

  // The AI response cache (examples/ai-demo.ts) on the same kind of backend.
  const aiCache = redisUrl ? new GenericRedisCache({ redisUrl, namespace: 'strata-demo-ai', l1: { maxEntries: 1000 } }) : new InMemoryCache({ namespace: 'strata-demo-ai' })
  await aiCache.connect()
  await runAIDemo(aiCache)
  await aiCache.disconnect()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
