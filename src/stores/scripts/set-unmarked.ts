import { defineScript } from './lua-script.js'

/**
 * Writes an entry unless a delete newer than the load's epoch marked it: the part of `SET_ENTRY`
 * that fits in the entry's own slot on a cluster (the tag state and indexes live elsewhere).
 *
 * KEYS[1] = entry key; KEYS[2] = its delete mark, in the same slot.
 * ARGV[1] = encoded entry; ARGV[2] = physical ttl in ms, or '' for no expiry; ARGV[3] = the tag
 * epoch read before the loader ran, or '' for an unconditional write. Returns 1 when written.
 */
export const SET_UNMARKED = defineScript(`
if ARGV[3] ~= '' then
  local deleted = redis.call('GET', KEYS[2])
  if deleted and tonumber(deleted) > tonumber(ARGV[3]) then return 0 end
end
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1`)
