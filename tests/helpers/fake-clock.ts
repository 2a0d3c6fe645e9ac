import type { Clock } from '../../src/shared/clock.js'

/** A clock that moves only when told to. Starts at the real time so Redis TTLs stay sensible. */
export class FakeClock implements Clock {
  #now: number

  constructor(start = Date.now()) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  advance(ms: number): void {
    this.#now += ms
  }
}

let counter = 0

/** A namespace no other test uses, so tests can share one Redis and run in parallel. */
export function uniqueNamespace(label = 't'): string {
  counter++
  return `${label}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}
