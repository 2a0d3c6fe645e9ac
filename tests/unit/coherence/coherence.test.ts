import { afterEach, describe, expect, it } from 'vitest'
import { Coherence, type CoherenceHooks } from '../../../src/coherence/coherence.js'
import type { TrackingListener } from '../../../src/stores/redis-tracking.js'

/** A fake invalidation connection: the test decides sessions, barrier answers and reports. */
function harness(offline: 'serve' | 'bypass' = 'bypass', maxStalenessMs = 50) {
  let listener!: TrackingListener
  let answer: (session: number | undefined) => void = () => undefined
  const log: string[] = []
  const state = { reachable: true, session: undefined as number | undefined }
  const hooks: CoherenceHooks = {
    forget: (key) => log.push(`forget ${key}`),
    fence: () => log.push('fence'),
    tagsChanged: () => log.push('tags changed'),
    reachable: () => state.reachable,
    changed: (from, to) => log.push(`${from}->${to}`),
    received: () => undefined,
    failed: (error) => log.push(`failed ${error.code}`),
  }
  const coherence = new Coherence({ maxStalenessMs, offline }, 'test', { prefix: 'ns:', stateKey: 'ns#tags' }, hooks, (l) => {
    listener = l
    return {
      start: () => undefined,
      close: () => undefined,
      // Each barrier waits for the test to answer it.
      barrier: () => new Promise((resolve) => (answer = resolve)),
    }
  })
  coherence.start()
  const session = (n: number | undefined) => {
    state.session = n
    listener.session(n)
  }
  const answerBarrier = async () => {
    answer(state.session)
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
  return { coherence, listener: () => listener, log, state, session, answerBarrier }
}

const open: Coherence[] = []
afterEach(() => {
  for (const c of open.splice(0)) c.close()
})

describe('Coherence', () => {
  it('serves nothing before a session, fences when one starts, serves after a barrier, and stops serving when barriers stop', async () => {
    const h = harness()
    open.push(h.coherence)
    expect(h.coherence.canServe()).toBe(false)
    h.session(1)
    expect(h.log).toContain('fence')
    expect(h.coherence.canServe()).toBe(false)
    await h.answerBarrier()
    expect(h.coherence.canServe()).toBe(true)
    expect(h.coherence.state).toBe('verified')
    // No barrier answered for longer than maxStaleness: refused.
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(h.coherence.canServe()).toBe(false)
    expect(h.coherence.stats().state).toBe('unverified')
  })

  it('a barrier answered in an ended session proves nothing; a loss refuses at once and the next session fences again', async () => {
    const h = harness()
    open.push(h.coherence)
    h.session(1)
    await h.answerBarrier()
    expect(h.coherence.canServe()).toBe(true)
    h.session(undefined)
    expect(h.coherence.canServe()).toBe(false)
    const fences = h.log.filter((l) => l === 'fence').length
    h.session(2)
    expect(h.log.filter((l) => l === 'fence').length).toBe(fences + 1)
  })

  it('applies reported keys of its namespace only, reports a change of its tag state, and fences on a flush', () => {
    const h = harness()
    open.push(h.coherence)
    h.session(1)
    for (const key of ['ns:a', 'other:b', 'ns:c', 'other:x', 'ns#tags', 'other#tags']) h.listener().invalidate(key)
    expect(h.log.filter((l) => l.startsWith('forget'))).toEqual(['forget a', 'forget c'])
    // The namespace's tag state changed (a tag invalidation or clear elsewhere): loads detach.
    expect(h.log.filter((l) => l === 'tags changed')).toHaveLength(1)
    const fences = h.log.filter((l) => l === 'fence').length
    h.listener().invalidate(null)
    expect(h.log.filter((l) => l === 'fence').length).toBe(fences + 1)
    expect(h.coherence.stats().invalidationsReceived).toBe(3)
  })

  it("offline: 'serve' lets L1 answer only while neither connection reaches Redis; 'bypass' never", async () => {
    const serve = harness('serve')
    const bypass = harness('bypass')
    open.push(serve.coherence, bypass.coherence)
    for (const h of [serve, bypass]) {
      h.session(1)
      await h.answerBarrier()
      h.state.reachable = false
      h.session(undefined)
    }
    expect(serve.coherence.canServe()).toBe(true)
    expect(serve.coherence.state).toBe('offline')
    expect(bypass.coherence.canServe()).toBe(false)
    // The data connection is back: no more exception, even before the invalidation connection.
    serve.state.reachable = true
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(serve.coherence.canServe()).toBe(false)
  })

  it('reports a refused CLIENT TRACKING once, as E_COHERENCE_UNAVAILABLE', () => {
    const h = harness()
    open.push(h.coherence)
    const refused = new Error("NOPERM User x has no permissions to run the 'client|tracking' command")
    h.listener().error(refused)
    h.listener().error(refused)
    expect(h.log.filter((l) => l.startsWith('failed'))).toEqual(['failed E_COHERENCE_UNAVAILABLE'])
  })
})
