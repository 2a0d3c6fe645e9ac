import { describe, expect, it } from 'vitest'
import { type BreakerState, CircuitBreaker } from '../../../src/core/circuit-breaker.js'
import { FakeClock } from '../../helpers/fake-clock.js'

function setup() {
  const clock = new FakeClock(0)
  const transitions: string[] = []
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1000 }, clock, (from: BreakerState, to: BreakerState) =>
    transitions.push(`${from}->${to}`),
  )
  return { clock, transitions, breaker }
}

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures, not before', () => {
    const { breaker } = setup()
    breaker.recordFailure()
    breaker.recordFailure()
    breaker.recordSuccess()
    breaker.recordFailure()
    breaker.recordFailure()
    expect(breaker.state).toBe('closed')
    breaker.recordFailure()
    expect(breaker.state).toBe('open')
    expect(breaker.allow()).toBe(false)
  })

  it('lets exactly one probe through after openMs and closes on its success', () => {
    const { breaker, clock, transitions } = setup()
    breaker.trip()
    clock.advance(999)
    expect(breaker.allow()).toBe(false)
    clock.advance(1)
    expect(breaker.allow()).toBe(true)
    expect(breaker.allow()).toBe(false)
    breaker.recordSuccess()
    expect(breaker.state).toBe('closed')
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
  })

  it('re-opens when the probe fails', () => {
    const { breaker, clock } = setup()
    breaker.trip()
    clock.advance(1000)
    expect(breaker.allow()).toBe(true)
    breaker.recordFailure()
    expect(breaker.state).toBe('open')
    clock.advance(500)
    expect(breaker.allow()).toBe(false)
  })
})
