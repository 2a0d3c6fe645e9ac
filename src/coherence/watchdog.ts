import { Worker } from 'node:worker_threads'

/** Permits one process can hold at once; past that, permits read the clock themselves. */
const SLOTS = 256

/** `state` index counting arm calls (a new deadline wakes the thread). */
const WAKE = 0
/** `state` index the thread sets to 1 once it watches; until then permits read the clock. */
const ALIVE = 1
/** First permit slot. */
const FIRST_SLOT = 2

/**
 * The watchdog thread. Slot `i` of `state` holds 0 (closed) or the arm number of an open permit
 * whose deadline is `deadlines[i]`. It closes every permit whose deadline has passed, then sleeps
 * until the next deadline or the next arm call. The compare-and-exchange leaves a permit alone
 * that was re-armed meanwhile.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads')
const state = new Int32Array(workerData.state)
const deadlines = new Float64Array(workerData.deadlines)
const now = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6 }
Atomics.store(state, ${ALIVE}, 1)
for (;;) {
  const seen = Atomics.load(state, ${WAKE})
  const t = now()
  let next = Infinity
  for (let i = ${FIRST_SLOT}; i < state.length; i++) {
    const armed = Atomics.load(state, i)
    if (armed === 0) continue
    const deadline = deadlines[i]
    if (deadline <= t) Atomics.compareExchange(state, i, armed, 0)
    else if (deadline < next) next = deadline
  }
  Atomics.wait(state, ${WAKE}, seen, next === Infinity ? undefined : Math.max(0.1, next - t))
}
`

/** Monotonic milliseconds, the same clock in every thread of the process. */
export function monotonicMs(): number {
  const [seconds, nanos] = process.hrtime()
  return seconds * 1e3 + nanos / 1e6
}

/**
 * A permit that closes by itself at its deadline, even while this thread's event loop is
 * blocked: a watchdog thread closes it. Checking it costs one typed-array read, not a clock
 * read, which is what lets an L1 hit stay cheap and still be refused right after a long
 * synchronous stall (no timer of this thread could have fired during the stall).
 */
export interface Permit {
  /** Whether the permit is open now. */
  readonly open: () => boolean
  /** Opens the permit until `deadline` (monotonic ms, see {@link monotonicMs}); `Infinity`: until closed. */
  arm(deadline: number): void
  close(): void
  /** Gives the slot back; the permit stays closed. */
  release(): void
}

let shared: { state: Int32Array; deadlines: Float64Array; free: number[]; worker: Worker | undefined } | undefined

/** Whether the watchdog thread is running and watching (permits then cost no clock read). */
export function watchdogAlive(): boolean {
  return shared !== undefined && shared.state[ALIVE] === 1
}

/** A new permit, closed. One watchdog thread serves every permit of the process. */
export function createPermit(): Permit {
  shared ??= startWatchdog()
  const slot = shared.free.pop()
  return slot === undefined || shared.worker === undefined ? clockPermit() : slotPermit(shared, slot)
}

function startWatchdog(): NonNullable<typeof shared> {
  const state = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT))
  const deadlines = new Float64Array(new SharedArrayBuffer(SLOTS * Float64Array.BYTES_PER_ELEMENT))
  const free = Array.from({ length: SLOTS - FIRST_SLOT }, (_, i) => SLOTS - 1 - i)
  let worker: Worker | undefined
  try {
    worker = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { state: state.buffer, deadlines: deadlines.buffer } })
    // Never keeps the process alive, and a failure of the thread falls back to clock reads.
    worker.unref()
    worker.on('error', () => {
      // Permits then read the clock again (and new ones fall back to clock permits).
      Atomics.store(state, ALIVE, 0)
      if (shared !== undefined) shared.worker = undefined
    })
  } catch {
    worker = undefined
  }
  return { state, deadlines, free, worker }
}

function slotPermit(watchdog: NonNullable<typeof shared>, slot: number): Permit {
  const { state, deadlines } = watchdog
  let arms = 0
  return {
    // Until the thread watches (it takes some milliseconds to start), the deadline is checked here.
    open: () => state[slot] !== 0 && (state[ALIVE] === 1 || (deadlines[slot] as number) > monotonicMs()),
    arm(deadline) {
      if (!(deadline > monotonicMs())) return this.close()
      deadlines[slot] = deadline
      arms = (arms % 0x7fff_fffe) + 1
      Atomics.store(state, slot, arms)
      Atomics.add(state, WAKE, 1)
      Atomics.notify(state, WAKE)
    },
    close() {
      Atomics.store(state, slot, 0)
    },
    release() {
      Atomics.store(state, slot, 0)
      watchdog.free.push(slot)
    },
  }
}

/** The fallback when no slot (or no thread) is available: a clock read per check. */
function clockPermit(): Permit {
  let until = 0
  return {
    open: () => until > monotonicMs(),
    arm(deadline) {
      until = deadline
    },
    close() {
      until = 0
    },
    release() {
      until = 0
    },
  }
}
