/** A change to many keys at once: a pattern, tags, or everything. */
type Sweep = (key: string, tags: readonly string[]) => boolean

/** Keys remembered per generation; two generations are kept. */
const KEYS_PER_GENERATION = 10_000
/** Pattern, tag and clear invalidations remembered. */
const MAX_SWEEPS = 256

/**
 * Orders L1 fills and L2 writes against invalidations inside one process. Every write or
 * invalidation takes the next number of a process-wide sequence; a read or a load takes a
 * ticket (the current number) before it goes to L2 or runs its loader, and may fill L1 (or
 * write L2) only while nothing that concerns its key has happened since.
 *
 * This is what makes single-key behaviour linearizable in a process: once `delete`, `set` or
 * an invalidation has resolved, a fill from a read or load that started before it is dropped,
 * whatever its reply order.
 *
 * Memory stays bounded: keys are remembered in two generations of {@link KEYS_PER_GENERATION}
 * (when the current one is full it becomes the previous one, and the oldest is forgotten), and
 * the last {@link MAX_SWEEPS} sweeps. A ticket older than what is remembered counts as
 * overtaken, which costs a skipped fill, never a stale one; with two generations that happens
 * only to a read or load that outlives some 10,000 writes of other keys.
 */
export class Generations {
  /** The sequence, shared with another table when one is given (see the constructor). */
  readonly #sequence: { value: number }
  #current = new Map<string, number>()
  #currentStart = 0
  #previous = new Map<string, number>()
  /** Tickets before this predate the keys remembered. */
  #keysHorizon = 0
  #sweeps: Array<{ readonly seq: number; readonly matches: Sweep }> = []
  /** Tickets before this predate the sweeps remembered. */
  #sweepsHorizon = 0

  /**
   * With `shareWith`, this table numbers its changes from the other's sequence, so one ticket
   * can be checked against both (the engine keeps Redis-reported changes apart from its own).
   */
  constructor(shareWith?: Generations) {
    this.#sequence = shareWith === undefined ? { value: 0 } : shareWith.#sequence
  }

  /** The ticket of a read or load starting now. */
  ticket(): number {
    return this.#sequence.value
  }

  /** Records a write or invalidation of `key`; returns its number (the writer's own ticket). */
  touch(key: string): number {
    if (this.#current.size >= KEYS_PER_GENERATION) this.#rotate()
    const seq = ++this.#sequence.value
    this.#current.set(key, seq)
    return seq
  }

  /** Takes a number that concerns no key: tickets before it are older than whatever it marks. */
  advance(): number {
    return ++this.#sequence.value
  }

  /** Records an invalidation of every key (and tag) that `matches` accepts. */
  sweep(matches: Sweep): number {
    const seq = ++this.#sequence.value
    this.#sweeps.push({ seq, matches })
    if (this.#sweeps.length > MAX_SWEEPS) {
      const forgotten = this.#sweeps.shift() as { seq: number }
      this.#sweepsHorizon = forgotten.seq
    }
    return seq
  }

  /** Whether something concerning `key` (with these tags) happened after `ticket`. */
  overtaken(ticket: number, key: string, tags: readonly string[]): boolean {
    if (ticket === this.#sequence.value) return false
    if (ticket < this.#keysHorizon || ticket < this.#sweepsHorizon) return true
    // The current generation holds the newer number of a key that is in both.
    const touched = this.#current.get(key) ?? this.#previous.get(key)
    if (touched !== undefined && touched > ticket) return true
    for (let i = this.#sweeps.length - 1; i >= 0; i--) {
      const sweep = this.#sweeps[i] as { seq: number; matches: Sweep }
      if (sweep.seq <= ticket) break
      if (sweep.matches(key, tags)) return true
    }
    return false
  }

  #rotate(): void {
    // Keys of the generation now forgotten were touched before the current one began.
    this.#keysHorizon = this.#currentStart
    this.#previous = this.#current
    this.#current = new Map()
    this.#currentStart = this.#sequence.value
  }
}
