import { defineScript } from './lua-script.js'

/**
 * Records a clear of the namespace in its tag-state hash (see `SET_ENTRY`): bumps the epoch and
 * stores it as `*`, so a load that read an older epoch cannot write after the clear.
 * KEYS[1] = the namespace's tag-state hash. Returns the new epoch.
 */
export const MARK_CLEARED = defineScript(`
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], '*', epoch)
return epoch`)
