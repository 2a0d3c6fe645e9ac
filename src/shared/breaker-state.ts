/** `closed`: L2 is used. `open`: L2 is skipped. `half-open`: one probe call is let through. */
export type BreakerState = 'closed' | 'open' | 'half-open'
