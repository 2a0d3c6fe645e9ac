import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const WORKER = new URL('../../fixtures/stampede-worker.ts', import.meta.url).pathname

interface WorkerMessage {
  event: 'ready' | 'loading' | 'done' | 'crash'
  pid?: number
  values?: string[]
  errors?: string[]
  message?: string
}

/** A separate Node process running the worker, with its messages collected as they arrive. */
function startWorker(args: string[], onMessage: (worker: ChildProcess, message: WorkerMessage) => void) {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  createInterface({ input: child.stdout }).on('line', (line) => onMessage(child, JSON.parse(line) as WorkerMessage))
  return child
}

async function runStampede(server: RedisServer, options: { killLoadingWorker: boolean }) {
  const key = 'cold-key'
  const args = [server.url, uniqueNamespace('stampede'), key, '200', '100']
  const messages: Array<{ pid: number; message: WorkerMessage }> = []
  let ready = 0
  let allReady!: () => void
  const readyPromise = new Promise<void>((resolve) => (allReady = resolve))
  const exits: Array<Promise<void>> = []
  const workers = Array.from({ length: 4 }, () => {
    const child = startWorker(args, (worker, message) => {
      messages.push({ pid: worker.pid ?? 0, message })
      if (message.event === 'ready' && ++ready === 4) allReady()
      // Kill the first holder mid-load, as if its host died: its lease must expire and one
      // waiter elsewhere must take over.
      if (message.event === 'loading' && options.killLoadingWorker && messages.filter((m) => m.message.event === 'loading').length === 1) {
        setTimeout(() => worker.kill('SIGKILL'), 80)
      }
    })
    exits.push(new Promise((resolve) => child.once('exit', () => resolve())))
    return child
  })
  await readyPromise
  for (const worker of workers) worker.stdin?.end('go\n')
  await Promise.all(exits)
  return messages
}

describe.skipIf(!hasRedis)('cross-process stampede with the distributed lock', () => {
  const server = useRedisServer()

  it('4 processes x 100 concurrent getOrSet on a cold key run the 200 ms loader exactly once', async () => {
    const messages = await runStampede(server, { killLoadingWorker: false })
    const loads = messages.filter((m) => m.message.event === 'loading')
    const done = messages.filter((m) => m.message.event === 'done')
    expect(loads).toHaveLength(1)
    expect(done).toHaveLength(4)
    const expected = `value-from-${loads[0]?.message.pid}`
    for (const { message } of done) {
      expect(message.errors).toEqual([])
      expect(message.values).toHaveLength(100)
      expect(new Set(message.values)).toEqual(new Set([expected]))
    }
  })

  it('when the lock holder dies mid-load, its lease expires and exactly one other process loads', async () => {
    const messages = await runStampede(server, { killLoadingWorker: true })
    const loads = messages.filter((m) => m.message.event === 'loading')
    const done = messages.filter((m) => m.message.event === 'done')
    expect(loads).toHaveLength(2)
    expect(done).toHaveLength(3)
    const survivor = `value-from-${loads[1]?.message.pid}`
    for (const { message } of done) {
      expect(message.errors).toEqual([])
      expect(message.values).toHaveLength(100)
      expect(new Set(message.values)).toEqual(new Set([survivor]))
    }
  })

  it('renews the lease of a loader that outlives it, so another instance never loads meanwhile', async () => {
    const namespace = uniqueNamespace('renew')
    const options = { redisUrl: server.url, namespace, l1: false as const, lock: { lease: 300, wait: 5_000 } }
    const first = new GenericRedisCache(options)
    const second = new GenericRedisCache(options)
    await Promise.all([first.connect(), second.connect()])
    try {
      let loads = 0
      const slow = (value: string) => async () => {
        loads++
        await new Promise((resolve) => setTimeout(resolve, 1_200))
        return value
      }
      const holder = first.getOrSet('k', slow('from-first'))
      await new Promise((resolve) => setTimeout(resolve, 100))
      const waiter = second.getOrSet('k', slow('from-second'))
      expect(await Promise.all([holder, waiter])).toEqual(['from-first', 'from-first'])
      expect(loads).toBe(1)
    } finally {
      await Promise.all([first.disconnect(), second.disconnect()])
    }
  })
})
