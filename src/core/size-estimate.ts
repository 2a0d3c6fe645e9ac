// Heap size: what a value costs V8 (Node's 64-bit builds, without pointer compression), measured
// with `global.gc()` and `process.memoryUsage()` (heapUsed + external) on Node 20.

/** A pointer-sized slot: an array element, an object field, a hash-table cell. */
export const WORD = 8
/** A boxed double (HeapNumber): numbers outside the small-integer range, in a field or slot. */
const HEAP_NUMBER_BYTES = 16
/** A sequential string's header (map, hash, length); its characters are padded to a word. */
const STRING_HEADER = 16
/** A plain object's header (map, properties, elements); each property then takes a slot. */
const OBJECT_HEADER = 24
/** Past this many properties an object is taken to be in dictionary mode (a hash table). */
const FAST_PROPERTIES_MAX = 64
/** A dictionary-mode property: key, value and details, at the table's ~2x headroom. */
const DICTIONARY_PROPERTY = 7 * WORD
/** A JSArray (map, properties, elements, length); a non-empty one adds a FixedArray header. */
const ARRAY_HEADER = 32
const FIXED_ARRAY_HEADER = 16
/** JSMap/JSSet object, and the OrderedHashTable header (3 counts + FixedArray header). */
const COLLECTION_HEADER = 32 + 40
/** Per capacity slot of an OrderedHashMap: key, value, chain, and half a bucket (28 bytes). */
const MAP_SLOT = 3.5 * WORD
/** Per capacity slot of an OrderedHashSet: key, chain, and half a bucket. */
const SET_SLOT = 2.5 * WORD
/** A JSDate: header, time value and its cached date fields. */
const DATE_BYTES = 96
/** A typed array or DataView that owns its ArrayBuffer: view, buffer object and backing store record. */
const OWNING_VIEW_BYTES = 184
/** V8 keeps a typed array of at most 64 bytes inside the heap, with a slightly larger header. */
const ON_HEAP_VIEW_BYTES = 200
const ON_HEAP_VIEW_MAX = 64
/** A view into a shared buffer (a pooled Buffer, a `subarray()`): the view object alone. */
const SHARED_VIEW_BYTES = 96
/** An ArrayBuffer object and its backing-store record. */
const ARRAY_BUFFER_BYTES = 88
const BIGINT_HEADER = 16
const FUNCTION_BYTES = 64

/** Items of one container measured one by one; a larger container is measured on a sample. */
const FULL_WALK_ITEMS = 64
/** Items sampled in a larger container; their mean stands for every item. */
const SAMPLE_ITEMS = 32
/** Objects visited per value: past this, the items left in a container are extrapolated. */
const NODE_BUDGET = 2048
/** Nesting measured; deeper containers count their own shell only. */
const MAX_DEPTH = 32
/** Characters scanned in full for non-Latin-1 ones; a longer string is scanned in slices. */
const LATIN1_SCAN_MAX = 1 << 16
const LATIN1_SLICE = 1 << 12
const NON_LATIN1 = /[\u0100-\uffff]/

/**
 * Bytes a string's characters take on the heap: V8 stores a string whose characters are all
 * Latin-1 at 1 byte a character, any other at 2. Flat strings are assumed (a string built by `+`
 * may be a rope until first read whole; reading it flattens it). A string longer than 64K
 * characters is checked on slices (its start, middle and end), so a few non-Latin-1 characters
 * elsewhere in it go unseen.
 */
export function stringHeapSize(value: string): number {
  const length = value.length
  const wide = length <= LATIN1_SCAN_MAX ? NON_LATIN1.test(value) : wideInSlices(value)
  return STRING_HEADER + roundToWord(wide ? length * 2 : length)
}

function wideInSlices(value: string): boolean {
  if (NON_LATIN1.test(value.slice(0, LATIN1_SCAN_MAX))) return true
  const middle = (value.length - LATIN1_SLICE) >> 1
  return NON_LATIN1.test(value.slice(middle, middle + LATIN1_SLICE)) || NON_LATIN1.test(value.slice(-LATIN1_SLICE))
}

/** Bytes a number adds beyond the slot holding it: none for a small integer (Smi), else a box. */
export function numberHeapSize(value: number): number {
  return (value | 0) === value ? 0 : HEAP_NUMBER_BYTES
}

/**
 * Estimated bytes of V8 heap (and of the off-heap memory of binary data) that `value` holds,
 * not counting the slot that points at it: what a cache pays to keep it. Figures are V8's
 * object layouts on 64-bit Node: strings at 1 or 2 bytes a character plus a 16-byte header,
 * numbers outside the small-integer range boxed in 16 bytes, objects a 24-byte header plus a
 * slot a property (property names live in the shared hidden class, so they are not counted),
 * arrays a slot an element, Maps and Sets by their hash table's power-of-two capacity, Dates
 * 96 bytes, and a Buffer or typed array its view objects (~184 bytes, ~96 for a view into a
 * shared pool) plus its bytes. Shared and cyclic references are counted once.
 *
 * Cheap on every write: a container of more than 64 items is measured on a sample of 32
 * (evenly spaced for arrays, the first ones otherwise; an object's keys are still counted) and
 * scaled up; after 2,048 objects the items left are taken to be like those measured; nesting
 * deeper than 32 counts shells only. An object of more than 64 properties is counted as a hash
 * table with keys of its own; a string built by `+` is counted as if flat.
 */
export function estimateHeapSize(value: unknown): number {
  if (typeof value !== 'object' || value === null) return primitiveHeapSize(value)
  return heapSizeOf(value, { seen: new Set(), budget: NODE_BUDGET }, 0)
}

interface Walk {
  readonly seen: Set<object>
  budget: number
}

function primitiveHeapSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return stringHeapSize(value)
    case 'number':
      return numberHeapSize(value)
    case 'bigint':
      return BIGINT_HEADER + roundToWord(Math.ceil((value < 0n ? -value : value).toString(16).length / 2))
    case 'function':
      return FUNCTION_BYTES
    default:
      // booleans, undefined, null and symbols are shared constants.
      return 0
  }
}

function heapSizeOf(value: unknown, walk: Walk, depth: number): number {
  if (typeof value !== 'object' || value === null) return primitiveHeapSize(value)
  if (walk.seen.has(value)) return 0
  walk.seen.add(value)
  walk.budget--
  if (Array.isArray(value)) return arraySize(value, walk, depth)
  if (ArrayBuffer.isView(value)) return viewSize(value)
  if (value instanceof Map) {
    return COLLECTION_HEADER + MAP_SLOT * tableCapacity(value.size) + iterableItems(value.entries(), value.size, walk, depth, 2)
  }
  if (value instanceof Set) {
    return COLLECTION_HEADER + SET_SLOT * tableCapacity(value.size) + iterableItems(value.values(), value.size, walk, depth, 1)
  }
  if (value instanceof Date) return DATE_BYTES
  if (value instanceof ArrayBuffer) return ARRAY_BUFFER_BYTES + roundToWord(value.byteLength)
  return plainObjectSize(value as Record<string, unknown>, walk, depth)
}

function arraySize(value: unknown[], walk: Walk, depth: number): number {
  const length = value.length
  if (length === 0) return ARRAY_HEADER
  const shell = ARRAY_HEADER + FIXED_ARRAY_HEADER + length * WORD
  if (depth >= MAX_DEPTH) return shell
  const step = length <= FULL_WALK_ITEMS ? 1 : length / SAMPLE_ITEMS
  let measured = 0
  let sum = 0
  let boxes = 0
  let onlyNumbers = true
  for (let at = 0; at < length; at += step) {
    if (walk.budget <= 0 && measured > 0) break
    const item = value[Math.floor(at)]
    measured++
    if (typeof item === 'number') {
      boxes += numberHeapSize(item)
      continue
    }
    onlyNumbers = false
    sum += heapSizeOf(item, walk, depth + 1)
  }
  // An array of numbers only keeps doubles unboxed, in its 8-byte slots.
  if (!onlyNumbers) sum += boxes
  return shell + Math.round((sum * length) / measured)
}

function iterableItems(items: Iterator<unknown>, count: number, walk: Walk, depth: number, width: number): number {
  if (count === 0 || depth >= MAX_DEPTH) return 0
  const limit = count <= FULL_WALK_ITEMS ? count : SAMPLE_ITEMS
  let measured = 0
  let sum = 0
  for (let next = items.next(); !next.done && measured < limit; next = items.next()) {
    if (walk.budget <= 0 && measured > 0) break
    measured++
    if (width === 1) sum += heapSizeOf(next.value, walk, depth + 1)
    else {
      const [k, v] = next.value as [unknown, unknown]
      sum += heapSizeOf(k, walk, depth + 1) + heapSizeOf(v, walk, depth + 1)
    }
  }
  return Math.round((sum * count) / measured)
}

function plainObjectSize(value: Record<string, unknown>, walk: Walk, depth: number): number {
  let count = 0
  let measured = 0
  let sum = 0
  let keyBytes = 0
  for (const key in value) {
    count++
    if (count <= FAST_PROPERTIES_MAX) keyBytes += STRING_HEADER + roundToWord(key.length)
    if (depth >= MAX_DEPTH || (count > FULL_WALK_ITEMS && measured >= SAMPLE_ITEMS) || (walk.budget <= 0 && measured > 0)) continue
    measured++
    sum += heapSizeOf(value[key], walk, depth + 1)
  }
  const items = measured === 0 ? 0 : Math.round((sum * count) / measured)
  if (count <= FAST_PROPERTIES_MAX) return OBJECT_HEADER + count * WORD + items
  // Many properties: a hash table, and the keys are likely this object's own (ids, names).
  return OBJECT_HEADER + 2 * WORD + count * DICTIONARY_PROPERTY + Math.round((keyBytes * count) / FAST_PROPERTIES_MAX) + items
}

function viewSize(value: ArrayBufferView): number {
  const bytes = value.byteLength
  if (value.byteOffset !== 0) return SHARED_VIEW_BYTES + bytes
  // Reading `.buffer` of an in-heap typed array would move it off the heap: small views are
  // taken to own their bytes (a pooled Buffer at offset 0 is the rare exception).
  if (bytes <= ON_HEAP_VIEW_MAX) return ON_HEAP_VIEW_BYTES + roundToWord(bytes)
  if (value.buffer.byteLength !== bytes) return SHARED_VIEW_BYTES + bytes
  return OWNING_VIEW_BYTES + roundToWord(bytes)
}

/** An OrderedHashTable grown by inserts only: the next power of two, at least 4. */
function tableCapacity(size: number): number {
  let capacity = 4
  while (capacity < size) capacity *= 2
  return capacity
}

function roundToWord(bytes: number): number {
  return Math.ceil(bytes / WORD) * WORD
}
