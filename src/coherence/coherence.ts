import { CoherenceUnavailableError } from '../errors.js'
import type { CoherenceState } from '../monitoring/events.js'
import type { ResolvedCoherence } from '../options/resolve-cache-options.js'
import type { TrackingListener } from '../stores/redis-tracking.js'
import { type Permit, createPermit, monotonicMs } from './watchdog.js'

/** The invalidation connection, as coherence uses it (see `RedisTracking`). */
export interface InvalidationSource {
  start(): void
  /** Resolves the session a `PING` was answered in, or `undefined`. */
  barrier(): Promise<number | undefined>
  close(): void
}

/** What coherence does to the cache it guards, and what it reports. */
export interface CoherenceHooks {
  /** Drops a key from L1 and bars fills from reads and writes that started before. */
  forget(key: string): void
  /** Empties L1 in O(1) and orders the emptying after every read and load in flight. */
  fence(): void
  /**
   * Another instance invalidated tags or cleared the namespace: loads in flight may be
   * overtaken, so a call that starts now must not join one.
   */
  tagsChanged(): void
  /** Whether the data connection can be used (connected, circuit not open). */
  reachable(): boolean
  changed(from: CoherenceState, to: CoherenceState, reason: string): void
  /** `keys` invalidated keys applied; `lagMs` when the write was this instance's own. */
  received(keys: number, lagMs: number | undefined): void
  failed(error: CoherenceUnavailableError): void
}

/**
 * Writes made in this process, awaiting their invalidation at other caches of the process on the
 * same Redis and namespace (the one place where both ends of the lag are known without comparing
 * two machines' clocks): full scope and key → when the write resolved (`undefined`: in flight).
 * Bounded: past {@link MAX_TIMED_WRITES} it starts over.
 */
const timedWrites = new Map<string, number | undefined>()
const MAX_TIMED_WRITES = 4096
/** Started caches per scope: writes are timed only where another cache of the process can see them. */
const startedPerScope = new Map<string, { count: number }>()

const CLOSED: Permit = Object.freeze({ open: () => false, arm: () => undefined, close: () => undefined, release: () => undefined })

/** Statistics of `getStats().coherence`. */
export interface CoherenceStats {
  state: CoherenceState
  maxStalenessMs: number
  offline: 'serve' | 'bypass'
  /** Keys Redis reported as changed and applied to L1 (a flush counts 1). */
  invalidationsReceived: number
  /** Times L1 was emptied: after each loss of the invalidation connection, and on database flushes. */
  fences: number
  /** Milliseconds since the last answered barrier was sent; `undefined` before the first. */
  lastBarrierAgeMs: number | undefined
}

/**
 * Keeps one instance's L1 coherent with every writer of the namespace, and proves it.
 *
 * Invalidations come from Redis server-assisted tracking on a dedicated connection (see
 * `RedisTracking`). A barrier `PING` goes out on it every fifth of `maxStaleness`; one answered
 * within a tracking session proves that every write resolved before it was sent has been
 * applied here. L1 hits are served through a {@link Permit} armed until that send time plus
 * `maxStaleness` minus a margin (the barrier period) for the watchdog thread's wake-up: the
 * permit closes by itself when barriers stop coming back (frozen Redis, half-open socket,
 * blocked event loop), so a hit is refused rather than possibly stale.
 *
 * Any loss (the connection drops or is replaced, tracking is refused) ends the session: hits
 * are refused and, when a new session starts, L1 is fenced (emptied in O(1) and every read or
 * load in flight barred from filling it) before the first barrier re-arms the permit. With
 * `offline: 'serve'`, while neither connection can reach Redis, the permit stays open: L1
 * answers as the rest of the cache does when Redis is down. That is the one exception.
 */
export class Coherence {
  readonly #settings: Exclude<ResolvedCoherence, false>
  readonly #source: InvalidationSource
  readonly #hooks: CoherenceHooks
  readonly #prefix: string
  /** The namespace's tag state: another instance's tag invalidation or clear changes it. */
  readonly #stateKey: string
  /** Closed until `start()` takes a watchdog permit (so an unused cache starts no thread). */
  #permit: Permit = CLOSED
  readonly #periodMs: number
  #timer: NodeJS.Timeout | undefined
  #session: number | undefined
  #barrierInFlight = false
  #lastBarrierAt: number | undefined
  #state: CoherenceState = 'unverified'
  #offlineServing = false
  #received = 0
  #fences = 0
  #lastError = ''
  /** Tells this Redis and namespace apart from others in the lag registry. */
  readonly #scope: string
  /** How many started caches of this process share the scope (this one included once started). */
  readonly #sharing: { count: number }

  /** `scope` names the Redis server and database, so the lag registry keeps servers apart. */
  constructor(
    settings: Exclude<ResolvedCoherence, false>,
    scope: string,
    keys: { readonly prefix: string; readonly stateKey: string },
    hooks: CoherenceHooks,
    source: (listener: TrackingListener) => InvalidationSource,
  ) {
    this.#settings = settings
    const { prefix } = keys
    this.#scope = `${scope}|${prefix}`
    let sharing = startedPerScope.get(this.#scope)
    if (sharing === undefined) startedPerScope.set(this.#scope, (sharing = { count: 0 }))
    this.#sharing = sharing
    this.#prefix = prefix
    this.#stateKey = keys.stateKey
    this.#hooks = hooks
    this.#periodMs = settings.maxStalenessMs / 5
    this.#source = source({
      invalidate: (key) => this.#invalidate(key),
      session: (session) => this.#onSession(session),
      error: (error) => this.#onError(error),
    })
  }

  /** The hot check of every L1 hit: one typed-array read. */
  canServe(): boolean {
    return this.#permit.open()
  }

  get state(): CoherenceState {
    return this.#state
  }

  /** Connects the invalidation connection and starts the barriers; idempotent. */
  start(): void {
    if (this.#timer !== undefined) return
    this.#permit = createPermit()
    this.#sharing.count++
    this.#source.start()
    this.#timer = setInterval(() => this.#tick(), this.#periodMs)
    this.#timer.unref()
  }

  close(): void {
    if (this.#timer !== undefined) this.#sharing.count--
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#session = undefined
    this.#permit.release()
    this.#permit = CLOSED
    this.#source.close()
    this.#setState('unverified', 'closed')
  }

  /**
   * A write of these keys is being sent (`resolved` false) or has resolved. Redis does not report
   * an instance's own writes back to it, but another cache of this process on the same namespace
   * gets the report, and measures the lag from this time. One that arrives before the write
   * resolved counts 0.
   */
  wrote(writes: ReadonlyArray<{ readonly key: string }>, resolved: boolean): void {
    // A cache alone on its scope in this process (the usual deployment) times nothing.
    if (this.#sharing.count < 2) return
    if (!resolved) {
      if (this.#state !== 'verified') return
      if (timedWrites.size + writes.length > MAX_TIMED_WRITES) timedWrites.clear()
      for (const { key } of writes) timedWrites.set(this.#scope + key, undefined)
      return
    }
    if (timedWrites.size === 0) return
    const at = monotonicMs()
    for (const { key } of writes) if (timedWrites.has(this.#scope + key)) timedWrites.set(this.#scope + key, at)
  }

  stats(): CoherenceStats {
    this.#refresh()
    return {
      state: this.#state,
      maxStalenessMs: this.#settings.maxStalenessMs,
      offline: this.#settings.offline,
      invalidationsReceived: this.#received,
      fences: this.#fences,
      lastBarrierAgeMs: this.#lastBarrierAt === undefined ? undefined : Math.max(0, monotonicMs() - this.#lastBarrierAt),
    }
  }

  #tick(): void {
    this.#refresh()
    if (this.#session === undefined || this.#barrierInFlight) return
    this.#barrierInFlight = true
    const sentAt = monotonicMs()
    void this.#source.barrier().then((session) => {
      this.#barrierInFlight = false
      if (session === undefined || session !== this.#session) return
      this.#lastBarrierAt = sentAt
      this.#offlineServing = false
      this.#permit.arm(sentAt + this.#settings.maxStalenessMs - this.#periodMs)
      this.#refresh()
    })
  }

  /** Works out the state from the permit and the connections; opens or closes the offline exception. */
  #refresh(): void {
    const offline = this.#settings.offline === 'serve' && this.#session === undefined && !this.#hooks.reachable()
    if (offline !== this.#offlineServing) {
      this.#offlineServing = offline
      if (offline) this.#permit.arm(Number.POSITIVE_INFINITY)
      else this.#permit.close()
    }
    if (offline) this.#setState('offline', 'Redis unreachable')
    else if (this.#permit.open()) this.#setState('verified', 'barrier answered')
    else this.#setState('unverified', this.#session === undefined ? 'no invalidation connection' : 'no barrier answered within maxStaleness')
  }

  #onSession(session: number | undefined): void {
    this.#session = session
    if (session !== undefined) {
      // Whatever L1 holds may have missed invalidations while no session was on.
      this.#fence()
      this.#lastError = ''
      this.#tick()
    } else {
      this.#permit.close()
      this.#refresh()
    }
  }

  /** One reported key (node-redis hands them over one by one): no allocation on this path. */
  #invalidate(key: string | null): void {
    if (key === null) {
      this.#fence()
      this.#received++
      this.#hooks.received(1, undefined)
      return
    }
    if (!key.startsWith(this.#prefix)) {
      if (key === this.#stateKey) this.#hooks.tagsChanged()
      return
    }
    const local = key.slice(this.#prefix.length)
    this.#hooks.forget(local)
    this.#received++
    let lagMs: number | undefined
    if (timedWrites.size > 0 && timedWrites.has(this.#scope + local)) {
      const resolvedAt = timedWrites.get(this.#scope + local)
      lagMs = resolvedAt === undefined ? 0 : Math.max(0, monotonicMs() - resolvedAt)
    }
    this.#hooks.received(1, lagMs)
  }

  #fence(): void {
    this.#fences++
    this.#hooks.fence()
  }

  #onError(error: Error): void {
    // One report per distinct cause: a refused handshake repeats on every reconnect attempt.
    const message = error.message
    if (message === this.#lastError) return
    this.#lastError = message
    const reason = message.startsWith('NOPERM')
      ? 'Redis refused a command coherence needs (NOPERM): grant +client|tracking and +client|id'
      : 'invalidation connection error'
    this.#hooks.failed(new CoherenceUnavailableError(`${reason}: ${message}`, error))
  }

  #setState(to: CoherenceState, reason: string): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    this.#hooks.changed(from, to, reason)
  }
}
