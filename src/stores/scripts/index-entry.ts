import { ENTRY_LUA } from './entry-lua.js'
import { defineScript } from './lua-script.js'

/**
 * Adds one entry to one tag index (see `ENTRY_LUA`).
 * KEYS[1] = the tag index; ARGV[1] = the entry key; ARGV[2] = its physical ttl in ms, or '' for
 * no expiry. Returns 1.
 */
export const INDEX_ENTRY = defineScript(`${ENTRY_LUA}
index_entry(KEYS[1], ARGV[1], ARGV[2], server_ms())
return 1`)
