import { tracingChannel } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import type { TraceContext } from '../../../src/core/instrumentation.js'

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'

/** Subscribes to the tracing channels of `operations` and records every event. */
function record(operations: string[]) {
  const seen: Array<{ phase: Phase; context: TraceContext }> = []
  const unsubscribers = operations.map((operation) => {
    const channel = tracingChannel<object, TraceContext>(`strata-cache:${operation}`)
    const handlers = Object.fromEntries(
      (['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const).map((phase) => [
        phase,
        (context: TraceContext) => seen.push({ phase, context: { ...context } }),
      ]),
    ) as unknown as Parameters<typeof channel.subscribe>[0]
    channel.subscribe(handlers)
    return () => channel.unsubscribe(handlers)
  })
  return { seen, stop: () => unsubscribers.forEach((u) => u()) }
}

describe('diagnostics_channel tracing', () => {
  let stop = () => {}
  afterEach(() => stop())

  it('publishes start and end events for get, set, getOrSet and delete with key, source and hit', async () => {
    const cache = new InMemoryCache({ name: 'traced' })
    const recorder = record(['get', 'set', 'getOrSet', 'delete'])
    stop = recorder.stop
    await cache.set('k', 1)
    await cache.get('k')
    await cache.get('missing')
    await cache.getOrSet('loaded', () => 2)
    await cache.delete('k')
    const summary = recorder.seen
      .filter((e) => e.phase === 'start' || e.phase === 'asyncEnd')
      .map((e) => `${e.phase}:${e.context.operation}:${e.context.key}:${e.context.source ?? '-'}`)
    expect(summary).toEqual([
      'start:set:k:-',
      'asyncEnd:set:k:-',
      'start:get:k:-',
      'asyncEnd:get:k:l1',
      'start:get:missing:-',
      'asyncEnd:get:missing:none',
      'start:getOrSet:loaded:-',
      'asyncEnd:getOrSet:loaded:loader',
      'start:delete:k:-',
      'asyncEnd:delete:k:-',
    ])
    expect(recorder.seen.every((e) => e.context.cache === 'traced')).toBe(true)
    expect(recorder.seen.filter((e) => e.phase === 'end')).toHaveLength(5)
  })

  it('publishes an error event when an operation rejects', async () => {
    const cache = new InMemoryCache()
    const recorder = record(['getOrSet'])
    stop = recorder.stop
    await expect(cache.getOrSet('k', () => Promise.reject(new Error('db down')))).rejects.toThrow()
    const error = recorder.seen.find((e) => e.phase === 'error')
    expect((error?.context.error as { code: string }).code).toBe('E_FACTORY_ERROR')
  })
})
