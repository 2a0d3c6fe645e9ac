import { defineScript } from './lua-script.js'

/**
 * Invalidates one tag in bounded steps: each call deletes at most ARGV[2] entries of the tag's
 * index, so no single command reads or deletes a whole large set.
 *
 * KEYS[1] = the tag index (see `SET_ENTRY`); KEYS[2] = the namespace's tag-state hash.
 * ARGV[1] = tag name; ARGV[2] = most members handled by this call (at most 1,000: Lua's
 * `unpack` fails beyond about 8,000 values); ARGV[3] = '1' on the first call of an invalidation.
 *
 * The first call bumps the namespace's tag epoch and records it as the tag's invalidation epoch
 * before any entry is deleted, so from then on a load that read an older epoch cannot write
 * an entry with this tag (`SET_ENTRY` refuses it). Returns { entries deleted, members left,
 * { the members handled } }: an index may name a key rewritten since without the tag, which is
 * deleted too (never left stale), and the caller drops those keys from its L1 as well.
 */
export const INVALIDATE_TAG = defineScript(`
if ARGV[3] == '1' then
  local epoch = redis.call('HINCRBY', KEYS[2], 'epoch', 1)
  redis.call('HSET', KEYS[2], 't:' .. ARGV[1], epoch)
end
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local removed = 0
if #members > 0 then
  removed = redis.call('UNLINK', unpack(members))
  redis.call('ZREM', KEYS[1], unpack(members))
end
return { removed, redis.call('ZCARD', KEYS[1]), members }`)
