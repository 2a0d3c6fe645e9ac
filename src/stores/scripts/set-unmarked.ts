import { ENTRY_LUA } from './entry-lua.js'
import { defineScript } from './lua-script.js'

/**
 * Writes an entry unless a delete newer than the load's epoch marked it: the part of `SET_ENTRY`
 * that fits in the entry's own slot on a cluster (the tag state and indexes live elsewhere).
 *
 * KEYS[1] = entry key; KEYS[2] = its delete mark, in the same slot.
 * ARGV[1] = encoded entry; ARGV[2] = physical ttl in ms, or '' for no expiry; ARGV[3] = the tag
 * epoch read before the loader ran, or '' for an unconditional write. Returns 1 when written.
 */
export const SET_UNMARKED = defineScript(`${ENTRY_LUA}
if ARGV[3] ~= '' and deleted_after(KEYS[2], tonumber(ARGV[3])) then return 0 end
write_entry(KEYS[1], ARGV[1], ARGV[2])
return 1`)
