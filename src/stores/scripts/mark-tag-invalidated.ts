import { defineScript } from './lua-script.js'

/**
 * Records an invalidation of one tag in the namespace's tag-state hash, before any of its entries
 * is deleted (the first step of `INVALIDATE_TAG`, alone, for a cluster).
 * KEYS[1] = the tag-state hash; ARGV[1] = the tag name. Returns the new epoch.
 */
export const MARK_TAG_INVALIDATED = defineScript(`
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 't:' .. ARGV[1], epoch)
return epoch`)
