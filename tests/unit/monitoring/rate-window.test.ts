import { describe, expect, it } from 'vitest'

import { RateWindow } from '../../../src/monitoring/rate-window.js'
import { FakeClock } from '../../helpers/fake-clock.js'

/** A window on a fake clock starting on a whole second; `exact` reads the clock on every add. */
function setup(options: { windowSeconds?: number; exact?: boolean } = {}) {
  const clock = new FakeClock(1_000_000)
  let reads = 0
  const now = () => {
    reads++
    return clock.now()
  }
  const window = new RateWindow({
    now,
    ...(options.windowSeconds === undefined ? {} : { windowSeconds: options.windowSeconds }),
    ...(options.exact === true ? { maxEventsPerClockRead: 1 } : {}),
  })
  const addMany = (n: number) => {
    for (let i = 0; i < n; i++) window.add()
  }
  return { clock, window, addMany, reads: () => reads }
}

describe('RateWindow', () => {
  it('reports the count so far during the first second, rather than a huge rate from a few ms', () => {
    const { clock, window, addMany } = setup()
    clock.advance(5)
    addMany(50)
    expect(window.perSecond()).toBe(50)
  })

  it('divides by the time since the start while the window is not yet full', () => {
    const { clock, window, addMany } = setup({ exact: true })
    for (let s = 0; s < 10; s++) {
      addMany(20)
      clock.advance(1000)
    }
    expect(window.perSecond()).toBe(20)
    clock.advance(10_000)
    expect(window.perSecond()).toBe(10)
  })

  it('drops seconds that slide out of the window', () => {
    const { clock, window, addMany } = setup({ windowSeconds: 60, exact: true })
    clock.advance(500)
    addMany(600)
    clock.advance(29_500)
    expect(window.perSecond()).toBe(20)
    // Now in the window's 61st second: the first second (with all 600) has left it.
    clock.advance(30_500)
    expect(window.perSecond()).toBe(0)
  })

  it('measures a steady rate over exactly the window once it is full', () => {
    const { clock, window } = setup({ windowSeconds: 10, exact: true })
    for (let ms = 0; ms < 100_000; ms += 100) {
      window.add(3)
      clock.advance(100)
    }
    // 30 events per second; the window holds 9 full seconds and the current one just begun.
    expect(window.perSecond()).toBeCloseTo(30, 9)
    expect(window.windowSeconds).toBe(10)
  })

  it('clears everything after a pause longer than the window', () => {
    const { clock, window, addMany } = setup({ windowSeconds: 5, exact: true })
    addMany(100)
    clock.advance(3_600_000)
    expect(window.perSecond()).toBe(0)
    addMany(7)
    // On a whole second: the window covers the 4 seconds before it and 0 ms of the current one.
    expect(window.perSecond()).toBeCloseTo(7 / 4, 9)
  })

  it('keeps counting into the current second when the clock steps back', () => {
    const { clock, window, addMany } = setup({ exact: true })
    clock.advance(2000)
    addMany(10)
    clock.advance(-1500)
    addMany(10)
    clock.advance(1500)
    expect(window.perSecond()).toBe(10)
  })

  it('reads the clock rarely under load, without losing or doubling any call', () => {
    const { window, addMany, reads } = setup()
    addMany(100_000)
    expect(reads()).toBeLessThan(100_000 / 64 + 20)
    expect(window.perSecond()).toBe(100_000)
  })

  it('reads the clock on every call at low rates, so each call lands in its own second', () => {
    const { clock, window, reads } = setup({ windowSeconds: 10 })
    clock.advance(500)
    for (let s = 0; s < 30; s++) {
      window.add()
      clock.advance(1000)
    }
    expect(reads()).toBe(31)
    // Now at 30.5 s: the window covers 21.0 to 30.5 s, holding the calls at 21.5 … 29.5 s.
    expect(window.perSecond()).toBeCloseTo(9 / 9.5, 9)
  })

  it('forgets every event on reset and covers from the reset on', () => {
    const { clock, window, addMany } = setup({ exact: true })
    addMany(500)
    clock.advance(10_000)
    window.reset()
    clock.advance(2000)
    addMany(40)
    expect(window.perSecond()).toBe(20)
  })
})
