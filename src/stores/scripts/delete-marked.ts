import { defineScript } from './lua-script.js'

/**
 * Deletes entries and leaves a short-lived mark per key, so a load that began before the delete
 * (on any instance) cannot write its older value afterwards (see `SET_ENTRY`). The mark holds
 * the namespace epoch this delete took; it outlives the delete by ARGV[1] ms, the longest a load
 * may run and still be cached.
 *
 * KEYS[1] = the namespace's tag-state hash; KEYS[2..n+1] = entry keys; KEYS[n+2..2n+1] = their
 * mark keys, in the same order. ARGV[1] = the marks' lifetime in ms. Returns how many entries
 * existed.
 */
export const DELETE_MARKED = defineScript(`
local n = (#KEYS - 1) / 2
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local removed = 0
for i = 2, n + 1 do
  removed = removed + redis.call('UNLINK', KEYS[i])
  redis.call('SET', KEYS[i + n], epoch, 'PX', ARGV[1])
end
return removed`)
