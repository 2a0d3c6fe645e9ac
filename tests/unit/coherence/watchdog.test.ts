import { describe, expect, it } from 'vitest'
import { createPermit, monotonicMs, watchdogAlive } from '../../../src/coherence/watchdog.js'

function busyWait(ms: number): void {
  const until = monotonicMs() + ms
  while (monotonicMs() < until) {
    // A blocked event loop: no timer of this thread can run.
  }
}

describe('watchdog permits', () => {
  it('close by themselves at their deadline while this thread is blocked', async () => {
    const permit = createPermit()
    try {
      const started = Date.now()
      while (!watchdogAlive() && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 5))
      expect(watchdogAlive()).toBe(true)
      permit.arm(monotonicMs() + 30)
      expect(permit.open()).toBe(true)
      busyWait(80)
      // No timer could have fired: only the watchdog thread can have closed it.
      expect(permit.open()).toBe(false)
    } finally {
      permit.release()
    }
  })

  it('stay open until a later deadline when re-armed, and forever with Infinity until closed', () => {
    const permit = createPermit()
    try {
      permit.arm(monotonicMs() + 20)
      permit.arm(monotonicMs() + 400)
      busyWait(60)
      expect(permit.open()).toBe(true)
      permit.arm(Number.POSITIVE_INFINITY)
      busyWait(30)
      expect(permit.open()).toBe(true)
      permit.close()
      expect(permit.open()).toBe(false)
      permit.arm(monotonicMs() - 1)
      expect(permit.open()).toBe(false)
    } finally {
      permit.release()
    }
  })

  it('hands out independent permits, and reuses released slots', () => {
    const permits = Array.from({ length: 300 }, () => createPermit())
    try {
      permits[0]?.arm(monotonicMs() + 10_000)
      expect(permits[0]?.open()).toBe(true)
      expect(permits[1]?.open()).toBe(false)
      // Past the shared slots, permits read the clock themselves and behave the same.
      const last = permits[299]
      last?.arm(monotonicMs() + 20)
      expect(last?.open()).toBe(true)
      busyWait(40)
      expect(last?.open()).toBe(false)
    } finally {
      for (const permit of permits) permit.release()
    }
  })
})
