import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Paces a stream of operations to at most `perSecond` on average, to protect a production Redis:
 * after each `take(n)` it waits until the count so far is no more than the rate allows for the
 * time spent. Resolves at once (no timer) while the stream is behind its allowance.
 */
export function rateLimiter(perSecond: number | undefined): (n: number) => Promise<void> | undefined {
  if (perSecond === undefined) return () => undefined
  const startedAt = performance.now()
  let total = 0
  return (n) => {
    total += n
    const wait = startedAt + (total / perSecond) * 1000 - performance.now()
    return wait >= 1 ? sleep(wait) : undefined
  }
}
