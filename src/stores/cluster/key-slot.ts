/**
 * Redis Cluster hash slots, computed exactly as Redis does (`keyHashSlot` in cluster.c).
 *
 * Written here rather than taken from `cluster-key-slot` (1.1.2, the package @redis/client routes
 * with), which hashes `a{}{b}` as `b` where Redis hashes the whole key: grouping keys by that
 * package's slots could send two slots in one MGET (`CROSSSLOT`).
 *
 * @module
 */

/** Number of hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256)
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[byte] = crc
  }
  return table
})()

/** CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of `bytes[start, end)`. */
export function crc16(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!
  return crc
}

/**
 * The slot of `key` (its UTF-8 bytes): CRC16 of the hash tag when the key holds a `{` followed
 * later by a `}` with at least one byte between the first `{` and the first `}` after it, else of
 * the whole key; modulo 16384.
 */
export function keySlot(key: string | Uint8Array): number {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key
  const open = bytes.indexOf(0x7b)
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1)
    if (close > open + 1) return crc16(bytes, open + 1, close) % CLUSTER_SLOTS
  }
  return crc16(bytes) % CLUSTER_SLOTS
}

let slotTags: string[] | undefined

/**
 * A short hash tag that lands in `slot`: a key that starts with `{<tag>}` lives in that slot
 * whatever follows. The table is built on first use, by trying short strings until every slot
 * has one (about 150,000 CRCs, a few tens of ms).
 */
export function slotTag(slot: number): string {
  slotTags ??= buildSlotTags()
  return slotTags[slot]!
}

function buildSlotTags(): string[] {
  const tags = new Array<string>(CLUSTER_SLOTS)
  let found = 0
  for (let n = 0; found < CLUSTER_SLOTS; n++) {
    const tag = n.toString(36)
    const slot = crc16(Buffer.from(tag, 'latin1')) % CLUSTER_SLOTS
    if (tags[slot] === undefined) {
      tags[slot] = tag
      found++
    }
  }
  return tags
}

/** Groups `items` by the slot of `keyOf(item)`, keeping each item's index in `items`. */
export function groupBySlot<T>(items: readonly T[], keyOf: (item: T) => string): Map<number, Array<{ item: T; index: number }>> {
  const groups = new Map<number, Array<{ item: T; index: number }>>()
  items.forEach((item, index) => {
    const slot = keySlot(keyOf(item))
    let group = groups.get(slot)
    if (group === undefined) groups.set(slot, (group = []))
    group.push({ item, index })
  })
  return groups
}
