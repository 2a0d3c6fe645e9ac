import { defineScript } from './lua-script.js'

/**
 * Adds members to a set and keeps the set alive at least as long as its longest-lived member.
 * KEYS[1] = set key; ARGV[1] = TTL in ms, or '' for "no expiry"; ARGV[2..] = members.
 * - no TTL: PERSIST (a member that never expires keeps the whole set);
 * - the set did not exist before: PEXPIRE (SADD just created it without expiry);
 * - it existed with an expiry shorter than TTL: PEXPIRE (extend, never shorten);
 * - it existed without expiry: unchanged (a persistent member lives in it).
 * A pipeline of SADD + PEXPIRE NX + PEXPIRE GT cannot express the last rule: NX would put an
 * expiry on a set that holds a persistent member. The script is also atomic, and runs on
 * Redis 6 (PEXPIRE NX/GT needs 7). Callers send at most 1,000 members a call: Lua's `unpack`
 * fails beyond about 8,000 values.
 */
export const ADD_TO_SET = defineScript(`
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
if ARGV[1] == '' then
  redis.call('PERSIST', KEYS[1])
elseif existed == 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl >= 0 and pttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
end
return 0`)
