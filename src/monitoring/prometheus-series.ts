/**
 * Running counter totals per series, shared by the Prometheus and the OpenTelemetry exporters.
 * Counting happens on a cache's hot path (every L1 hit reports a lookup and an operation), where
 * a prom-client `inc()` costs about 0.4 µs of label hashing, several times the hit itself. Here
 * it is three `Map` lookups and an addition, with no allocation once a series exists; the totals
 * reach prom-client when a scrape collects them, and OpenTelemetry through observable counters.
 */

/** One series: its labels and its total so far. */
export interface SeriesCell {
  /** Label name → value, built once when the series first appears. */
  readonly labels: Readonly<Record<string, string>>
  /** Everything added so far. */
  total: number
  /** The part of `total` already handed to prom-client. */
  exported: number
}

type Level3 = Map<string, SeriesCell>
type Level2 = Map<string, Level3>

/**
 * Functions run before totals are read (a scrape, an SDK collection): the monitors a sink is
 * bound to flush what their caches batch, so the totals read are exact.
 */
export class ReadHooks {
  readonly #hooks: Array<() => void> = []

  add(hook: () => void): void {
    this.#hooks.push(hook)
  }

  run(): void {
    for (const hook of this.#hooks) {
      try {
        hook()
      } catch {
        // A failing flush must not fail the scrape; the totals are then as of the last flush.
      }
    }
  }
}

/** Totals for one counter with up to three labels. Label cardinality is the caller's business. */
export class SeriesCounts {
  /** Every series, in creation order. */
  readonly cells: SeriesCell[] = []
  readonly #labelNames: readonly string[]
  readonly #root = new Map<string, Level2>()

  /** @param labelNames one to three label names, in the order `add()` takes their values. */
  constructor(labelNames: readonly string[]) {
    this.#labelNames = labelNames
  }

  /** Adds `amount` (already checked: finite, not negative) to the series `(a, b, c)`. */
  add(amount: number, a: string, b = '', c = ''): void {
    const cell = this.#root.get(a)?.get(b)?.get(c) ?? this.#create(a, b, c)
    cell.total += amount
  }

  #create(a: string, b: string, c: string): SeriesCell {
    const values = [a, b, c]
    const labels: Record<string, string> = {}
    this.#labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''))
    const cell: SeriesCell = { labels, total: 0, exported: 0 }
    let level2 = this.#root.get(a)
    if (level2 === undefined) this.#root.set(a, (level2 = new Map<string, Level3>()))
    let level3 = level2.get(b)
    if (level3 === undefined) level2.set(b, (level3 = new Map<string, SeriesCell>()))
    level3.set(c, cell)
    this.cells.push(cell)
    return cell
  }
}
