/** Mutable counters behind `getStats()`. Plain fields: incrementing one is the whole cost. */
export class StatsCounters {
  l1Hits = 0
  l1Misses = 0
  l2Hits = 0
  l2Misses = 0
  l2Errors = 0
  l2Skipped = 0
  decodeErrors = 0
  /** Public operations started. */
  operations = 0
  sets = 0
  deletes = 0
  errors = 0
  /** Invalidations that could not reach Redis and were queued. */
  queuedInvalidations = 0
}
