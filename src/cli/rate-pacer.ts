/**
 * `--rate <ops/s>`: paces the deletes of commands that touch many keys, to protect a production
 * Redis. Work goes in batches of a tenth of a second's worth, and after each batch the pacer
 * waits until the count done is no more than the rate allows for the time spent.
 */
import { setTimeout as sleep } from 'node:timers/promises'

import { badFlag } from './data-cache.js'

/** The largest `--rate` accepted, in operations per second. */
export const MAX_RATE = 1_000_000

/** `--rate` checked: a positive number up to {@link MAX_RATE}; `undefined` when not given. */
export function parseRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const rate = Number(value)
  if (value.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE) {
    throw badFlag('--rate', `expected operations per second, a number above 0 and at most ${MAX_RATE}; got "${value}"`)
  }
  return rate
}

/** Keys per batch: a tenth of a second's worth at `rate` (at least 1), else `unpaced`. */
export function batchSizeFor(rate: number | undefined, unpaced: number): number {
  return rate === undefined ? unpaced : Math.max(1, Math.min(unpaced, Math.ceil(rate / 10)))
}

/** Call the result with the number of operations just done; it waits as long as `rate` requires. */
export function createPacer(rate: number | undefined, now: () => number = () => performance.now()): (done: number) => Promise<void> {
  if (rate === undefined) return () => Promise.resolve()
  const startedAt = now()
  let total = 0
  return async (done) => {
    total += done
    const due = startedAt + (total / rate) * 1000
    const wait = due - now()
    if (wait > 0) await sleep(wait)
  }
}
