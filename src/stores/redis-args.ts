import { InvalidOptionsError } from '../errors.js'

/** Redis wants a positive whole number of ms; `undefined` and `Infinity` mean no expiry. */
export function expiryMs(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined || ttlMs === Number.POSITIVE_INFINITY) return undefined
  if (typeof ttlMs !== 'number' || !(ttlMs > 0)) {
    throw new InvalidOptionsError([{ path: 'ttlMs', message: `expected a positive number of ms, got ${String(ttlMs)}` }])
  }
  return Math.ceil(ttlMs)
}

/** A Buffer view of the same memory: node-redis only accepts strings and Buffers. */
export function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** `items` in consecutive slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
