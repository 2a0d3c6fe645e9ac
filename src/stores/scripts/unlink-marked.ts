import { defineScript } from './lua-script.js'

/**
 * Deletes entries of one slot and leaves each a delete mark holding an epoch taken before (the
 * cluster form of `DELETE_MARKED`, whose epoch lives in another slot).
 *
 * KEYS[1..n] = entry keys; KEYS[n+1..2n] = their mark keys, in the same order and slot.
 * ARGV[1] = the marks' lifetime in ms; ARGV[2] = the epoch. Returns how many entries existed.
 */
export const UNLINK_MARKED = defineScript(`
local n = #KEYS / 2
local removed = 0
for i = 1, n do
  removed = removed + redis.call('UNLINK', KEYS[i])
  redis.call('SET', KEYS[i + n], ARGV[2], 'PX', ARGV[1])
end
return removed`)
