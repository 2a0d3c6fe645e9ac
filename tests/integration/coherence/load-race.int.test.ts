/**
 * The load race across processes: instance B (a child process) starts a getOrSet load; instance
 * A (this process) deletes the key, or invalidates one of its tags; then B's loader resolves.
 * B's pre-invalidation value must be readable nowhere afterwards: not in Redis, not in B's L1,
 * not through A. The control case, with no invalidation, shows the same checks see the value.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline'
import { createClient } from '@redis/client'
import { afterEach, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const INSTANCE_B = new URL('../../fixtures/coherence-loader.ts', import.meta.url).pathname

interface Message {
  event: string
  value?: unknown
  state?: string
}

/** Instance B, and a way to wait for its next message of a kind. */
function startB(url: string, namespace: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE_B, url, namespace], { stdio: ['pipe', 'pipe', 'inherit'] })
  const waiting: Array<{ event: string; resolve: (message: Message) => void }> = []
  const seen: Message[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as Message
    const i = waiting.findIndex((w) => w.event === message.event)
    if (i >= 0) waiting.splice(i, 1)[0]?.resolve(message)
    else seen.push(message)
  })
  const next = (event: string) =>
    new Promise<Message>((resolve, reject) => {
      const i = seen.findIndex((m) => m.event === event)
      if (i >= 0) return resolve(seen.splice(i, 1)[0] as Message)
      const timer = setTimeout(() => reject(new Error(`instance B sent no ${event}`)), 15_000)
      waiting.push({ event, resolve: (m) => (clearTimeout(timer), resolve(m)) })
    })
  const send = (line: string) => child.stdin?.write(`${line}\n`)
  return { child, next, send }
}

describe.skipIf(!hasRedis)('the load race across two processes', () => {
  const server = useRedisServer()
  const children: ChildProcess[] = []
  const caches: GenericRedisCache[] = []

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL')
    for (const cache of caches.splice(0)) await cache.disconnect()
  })

  /** Instance A (here) and instance B (a child process), B's load of `k` started and waiting. */
  async function loading(tag: string | undefined) {
    const namespace = uniqueNamespace('race')
    const b = startB(server.url, namespace)
    children.push(b.child)
    const a = new GenericRedisCache({ redisUrl: server.url, namespace })
    caches.push(a)
    await a.connect()
    await b.next('ready')
    b.send(`load k ${tag ?? '-'}`)
    await b.next('loading')
    return { a, b, namespace }
  }

  async function race(invalidate: (a: GenericRedisCache) => Promise<unknown>, tag: string | undefined) {
    const { a, b, namespace } = await loading(tag)
    await invalidate(a)
    b.send('release')
    const loaded = await b.next('loaded')
    // B's caller gets what its loader returned either way.
    expect(loaded.value).toBe('before')
    const raw = createClient({ url: server.url })
    await raw.connect()
    const inRedis = await raw.exists(`${namespace}:k`)
    await raw.quit()
    b.send('get k')
    const fromB = await b.next('got')
    return { inRedis, fromB: fromB.value, fromA: await a.get('k'), stateB: fromB.state }
  }

  it('control: with no invalidation, the loaded value is in Redis and read by both', async () => {
    const seen = await race(async () => undefined, 't')
    expect(seen).toEqual({ inRedis: 1, fromB: 'before', fromA: 'before', stateB: 'verified' })
  })

  it('A deletes the key while B loads: B’s value is readable nowhere', async () => {
    const seen = await race((a) => a.delete('k'), undefined)
    expect(seen).toEqual({ inRedis: 0, fromB: null, fromA: undefined, stateB: 'verified' })
  })

  it('A invalidates one of its tags while B loads: B’s value is readable nowhere', async () => {
    const seen = await race((a) => a.invalidateTags(['t']), 't')
    expect(seen).toEqual({ inRedis: 0, fromB: null, fromA: undefined, stateB: 'verified' })
  })

  for (const [what, invalidate] of [
    ['invalidates one of its tags', (a: GenericRedisCache) => a.invalidateTags(['t'])],
    ['clears the namespace', (a: GenericRedisCache) => a.clear()],
  ] as const) {
    it(`A ${what} while B loads: a later call in B does not join B's overtaken load`, async () => {
      // The key is not in Redis: the invalidation deletes no entry, so Redis reports no key of it.
      const { a, b } = await loading('t')
      await invalidate(a)
      // What B learns of the invalidation comes through coherence, within maxStaleness (100 ms).
      await sleep(150)
      b.send('join k t')
      b.send('release')
      expect((await b.next('loaded')).value).toBe('before')
      expect((await b.next('joined')).value).toBe('after')
    })
  }
})

