/** A change to many keys at once: a pattern, tags, or everything. */
type Sweep = (key: string, tags: readonly string[]) => boolean

/** Keys tracked before the table is reset; bounds the memory of a process writing many keys. */
const MAX_TRACKED_KEYS = 10_000
/** Pattern, tag and clear invalidations remembered. */
const MAX_SWEEPS = 64

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
 * Memory stays bounded: past {@link MAX_TRACKED_KEYS} keys or {@link MAX_SWEEPS} sweeps the
 * tables are emptied and a horizon set. A ticket older than the horizon counts as overtaken,
 * which costs a skipped fill, never a stale one.
 */
export class Generations {
  #seq = 0
  #horizon = 0
  readonly #keys = new Map<string, number>()
  #sweeps: Array<{ readonly seq: number; readonly matches: Sweep }> = []

  /** The ticket of a read or load starting now. */
  ticket(): number {
    return this.#seq
  }

  /** Records a write or invalidation of `key`; returns its number (the writer's own ticket). */
  touch(key: string): number {
    if (this.#keys.size >= MAX_TRACKED_KEYS) this.#reset()
    const seq = ++this.#seq
    this.#keys.set(key, seq)
    return seq
  }

  /** Records an invalidation of every key (and tag) that `matches` accepts. */
  sweep(matches: Sweep): number {
    if (this.#sweeps.length >= MAX_SWEEPS) this.#reset()
    const seq = ++this.#seq
    this.#sweeps.push({ seq, matches })
    return seq
  }

  /** Whether something concerning `key` (with these tags) happened after `ticket`. */
  overtaken(ticket: number, key: string, tags: readonly string[]): boolean {
    if (ticket === this.#seq) return false
    if (ticket < this.#horizon) return true
    const touched = this.#keys.get(key)
    if (touched !== undefined && touched > ticket) return true
    for (let i = this.#sweeps.length - 1; i >= 0; i--) {
      const sweep = this.#sweeps[i] as { seq: number; matches: Sweep }
      if (sweep.seq <= ticket) break
      if (sweep.matches(key, tags)) return true
    }
    return false
  }

  #reset(): void {
    this.#horizon = this.#seq + 1
    this.#keys.clear()
    this.#sweeps = []
  }
}
