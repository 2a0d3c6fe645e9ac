import type { Clock } from '../shared/clock.js'

import type { BreakerState } from '../shared/breaker-state.js'

export type { BreakerState }

/** Settings of the L2 circuit breaker. */
export interface BreakerSettings {
  /** Consecutive failures (errors or missed deadlines) that open the breaker. */
  readonly failureThreshold: number
  /** How long the breaker stays open before it lets one probe through, in ms. */
  readonly openMs: number
}

/**
 * Stops sending commands to an L2 that keeps failing, so callers get an immediate miss instead
 * of waiting for a deadline each time, and a frozen Redis does not collect an ever-growing
 * queue of commands. After `openMs` one call probes; its success closes the breaker.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed'
  #failures = 0
  #openedAt = 0
  #probeInFlight = false
  readonly #settings: BreakerSettings
  readonly #clock: Clock
  readonly #onChange: (from: BreakerState, to: BreakerState) => void

  constructor(settings: BreakerSettings, clock: Clock, onChange: (from: BreakerState, to: BreakerState) => void) {
    this.#settings = settings
    this.#clock = clock
    this.#onChange = onChange
  }

  get state(): BreakerState {
    return this.#state
  }

  /** Whether a call may go to L2 now. In half-open state only one probe at a time is allowed. */
  allow(): boolean {
    if (this.#state === 'closed') return true
    if (this.#state === 'open') {
      if (this.#clock.now() - this.#openedAt < this.#settings.openMs) return false
      this.#transition('half-open')
    }
    if (this.#probeInFlight) return false
    this.#probeInFlight = true
    return true
  }

  recordSuccess(): void {
    this.#failures = 0
    this.#probeInFlight = false
    if (this.#state !== 'closed') this.#transition('closed')
  }

  recordFailure(): void {
    this.#failures++
    this.#probeInFlight = false
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#settings.failureThreshold)) {
      this.#openedAt = this.#clock.now()
      this.#transition('open')
    }
  }

  /** Opens at once, for example when the connection is known to be lost. */
  trip(): void {
    if (this.#state === 'open') return
    this.#openedAt = this.#clock.now()
    this.#probeInFlight = false
    this.#transition('open')
  }

  #transition(to: BreakerState): void {
    const from = this.#state
    this.#state = to
    this.#onChange(from, to)
  }
}
