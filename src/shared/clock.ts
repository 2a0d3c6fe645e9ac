/** Source of the current time in epoch ms. Injected so tests can move time without sleeping. */
export interface Clock {
  now(): number
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() }
