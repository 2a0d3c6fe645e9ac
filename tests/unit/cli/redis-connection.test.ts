import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DeadlineError, withDeadline } from '../../../src/cli/redis-connection.js'

describe('withDeadline', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('settles like the promise when it is in time', async () => {
    await expect(withDeadline(Promise.resolve(7), 100)).resolves.toBe(7)
    await expect(withDeadline(Promise.reject(new Error('boom')), 100)).rejects.toThrow('boom')
  })

  it('rejects with DeadlineError when the promise is late, and clears its timer otherwise', async () => {
    const late = withDeadline(new Promise(() => undefined), 100)
    const assertion = expect(late).rejects.toBeInstanceOf(DeadlineError)
    await vi.advanceTimersByTimeAsync(100)
    await assertion
    await withDeadline(Promise.resolve(1), 100)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('does not leave an unhandled rejection when the late promise fails after the deadline', async () => {
    let fail: (error: Error) => void = () => undefined
    const slow = new Promise<never>((_, reject) => (fail = reject))
    const assertion = expect(withDeadline(slow, 10)).rejects.toBeInstanceOf(DeadlineError)
    await vi.advanceTimersByTimeAsync(10)
    await assertion
    vi.useRealTimers()
    const unhandled = vi.fn()
    process.on('unhandledRejection', unhandled)
    fail(new Error('late'))
    // Unhandled rejections are reported after the microtask queue drains; one macrotask is enough.
    await new Promise((resolve) => setImmediate(resolve))
    process.off('unhandledRejection', unhandled)
    expect(unhandled).not.toHaveBeenCalled()
  })
})
