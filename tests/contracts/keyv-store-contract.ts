/**
 * Keyv 5's documented behaviour (node_modules/keyv/README.md), as one suite run against Keyv on
 * its own Map store and against Keyv on `KeyvStrataStore`, so the suite encodes what Keyv does,
 * not what the adapter does. Each test runs with Keyv's serializer on (its default: the store
 * receives JSON strings) and off (the store receives `{ value, expires }`, as under cache-manager 7).
 */
import { Keyv } from 'keyv'
import { describe, expect, it } from 'vitest'

/** One backing store; `store()` gives one store object per Keyv, over the same data. */
export interface KeyvSubject {
  /** Keyv takes any object with its store methods (`KeyvOptions.store` is typed loosely). */
  store(): object
  cleanup?: () => Promise<void>
}

export interface KeyvContractOptions {
  make(): Promise<KeyvSubject>
  /** Moves time forward by `ms` (a fake clock in unit tests, a real wait on Redis). */
  advance(ms: number): Promise<void>
  /** Base ttl of the suite in ms; the tests wait multiples of it. */
  ttlMs: number
  /** Runs the tests of promises the Keyv docs make but its Map store does not keep (namespace-only `clear`). */
  docsOnly?: boolean
}

export function registerKeyvContract(name: string, opts: KeyvContractOptions): void {
  const T = opts.ttlMs
  const tolerance = Math.max(T / 4, 1)
  for (const serialize of [true, false]) {
    describe(`${name}, Keyv serializer ${serialize ? 'on' : 'off'}`, () => {
      const setup = async (keyvOptions: { namespace?: string | undefined; ttl?: number } = {}) => {
        const subject = await opts.make()
        const make = (options = keyvOptions) => {
          const { namespace, ...rest } = options
          const keyv = new Keyv({ store: subject.store(), ...rest, ...(namespace === undefined ? {} : { namespace }) })
          if (!serialize) {
            keyv.serialize = undefined
            keyv.deserialize = undefined
          }
          if ('namespace' in options && options.namespace === undefined) keyv.namespace = undefined
          return keyv
        }
        return { keyv: make(), make, cleanup: () => subject.cleanup?.() }
      }

      it('set resolves true and get returns the value; a missing key is undefined', async () => {
        const { keyv, cleanup } = await setup()
        const values = [{ a: 1, nested: { b: [1, 'x'] } }, 'text', 42, null, [1, 2, 3], true, '']
        for (const [i, value] of values.entries()) expect(await keyv.set(`k${i}`, value)).toBe(true)
        for (const [i, value] of values.entries()) expect(await keyv.get(`k${i}`)).toEqual(value)
        expect(await keyv.get('missing')).toBeUndefined()
        await cleanup()
      })

      it('an entry set with a ttl expires after it, and is kept before', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.set('short', 'v', T)
        await opts.advance(T / 2)
        expect(await keyv.get('short')).toBe('v')
        expect(await keyv.has('short')).toBe(true)
        await opts.advance(T)
        expect(await keyv.get('short')).toBeUndefined()
        expect(await keyv.has('short')).toBe(false)
        await cleanup()
      })

      it('keys are persistent without a ttl (getRaw shows no expiry)', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.set('forever', 'v')
        await opts.advance(2 * T)
        expect(await keyv.get('forever')).toBe('v')
        expect((await keyv.getRaw('forever'))?.expires).toBeUndefined()
        await cleanup()
      })

      it("the Keyv ttl option applies to sets that give none, and a ttl of 0 means none", async () => {
        const { keyv, cleanup } = await setup({ ttl: T })
        await keyv.set('default', 'v')
        await keyv.set('zero', 'v', 0)
        await opts.advance(T + T / 2)
        expect(await keyv.get('default')).toBeUndefined()
        expect(await keyv.get('zero')).toBe('v')
        await cleanup()
      })

      it('getRaw resolves { value, expires } with the absolute expiry in ms, undefined when missing', async () => {
        const { keyv, cleanup } = await setup()
        const before = Date.now()
        await keyv.set('raw', { x: 1 }, 10 * T)
        const raw = await keyv.getRaw('raw')
        expect(raw?.value).toEqual({ x: 1 })
        expect(raw?.expires).toBeGreaterThanOrEqual(before + 10 * T - tolerance)
        expect(raw?.expires).toBeLessThanOrEqual(Date.now() + 10 * T + tolerance)
        expect(await keyv.get('raw', { raw: true })).toEqual(raw)
        expect(await keyv.getRaw('missing')).toBeUndefined()
        await cleanup()
      })

      it('delete resolves true if the key existed and false if not', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.set('d', 1)
        expect(await keyv.delete('d')).toBe(true)
        expect(await keyv.get('d')).toBeUndefined()
        expect(await keyv.delete('d')).toBe(false)
        await cleanup()
      })

      it('has and hasMany tell which keys exist', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.set('h1', 0)
        await keyv.set('h2', null)
        expect(await keyv.has('h1')).toBe(true)
        expect(await keyv.has('nope')).toBe(false)
        expect(await keyv.hasMany(['h1', 'nope', 'h2'])).toEqual([true, false, true])
        await cleanup()
      })

      it('getMany and getManyRaw resolve values aligned with the keys, undefined for misses', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.set('m1', 'one')
        await keyv.set('m3', { three: 3 }, 10 * T)
        expect(await keyv.getMany(['m1', 'm2', 'm3'])).toEqual(['one', undefined, { three: 3 }])
        const raw = await keyv.getManyRaw(['m1', 'm2', 'm3'])
        expect(raw[0]).toEqual({ value: 'one', expires: undefined })
        expect(raw[1]).toBeUndefined()
        expect(raw[2]?.value).toEqual({ three: 3 })
        expect(raw[2]?.expires).toBeGreaterThan(Date.now() + 9 * T)
        await cleanup()
      })

      it('setMany writes every entry with its own ttl and resolves one true per entry', async () => {
        const { keyv, cleanup } = await setup()
        expect(await keyv.setMany([{ key: 's1', value: 'a' }, { key: 's2', value: 'b', ttl: T }])).toEqual([true, true])
        expect(await keyv.getMany(['s1', 's2'])).toEqual(['a', 'b'])
        await opts.advance(T + T / 2)
        expect(await keyv.getMany(['s1', 's2'])).toEqual(['a', undefined])
        await cleanup()
      })

      it('deleteMany deletes every key; true when all existed, false when one did not', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.setMany([{ key: 'x1', value: 1 }, { key: 'x2', value: 2 }, { key: 'x3', value: 3 }])
        expect(await keyv.deleteMany(['x1', 'x2'])).toBe(true)
        expect(await keyv.deleteMany(['x3', 'x4'])).toBe(false)
        expect(await keyv.getMany(['x1', 'x2', 'x3'])).toEqual([undefined, undefined, undefined])
        await cleanup()
      })

      it('clear deletes the entries of the namespace', async () => {
        const { keyv, cleanup } = await setup()
        await keyv.setMany([{ key: 'c1', value: 1 }, { key: 'c2', value: 2 }])
        await keyv.clear()
        expect(await keyv.getMany(['c1', 'c2'])).toEqual([undefined, undefined])
        await cleanup()
      })

      it('namespaces keep equal keys apart', async () => {
        const { make, cleanup } = await setup()
        const users = make({ namespace: 'users' })
        const sessions = make({ namespace: 'sessions' })
        await users.set('foo', 'users')
        await sessions.set('foo', 'sessions')
        expect(await users.get('foo')).toBe('users')
        expect(await sessions.get('foo')).toBe('sessions')
        await users.delete('foo')
        expect(await sessions.get('foo')).toBe('sessions')
        await cleanup()
      })

      it.runIf(opts.docsOnly === true)('clear deletes only the current namespace (as the Keyv docs promise)', async () => {
        const { make, cleanup } = await setup()
        const users = make({ namespace: 'users' })
        const sessions = make({ namespace: 'sessions' })
        await users.set('foo', 'users')
        await sessions.set('foo', 'sessions')
        await users.clear()
        expect(await users.get('foo')).toBeUndefined()
        expect(await sessions.get('foo')).toBe('sessions')
        await cleanup()
      })

      it('without a namespace, keys are not prefixed and clear deletes them', async () => {
        const { keyv, cleanup } = await setup({ namespace: undefined })
        await keyv.set('bare', 'v')
        expect(await keyv.get('bare')).toBe('v')
        await keyv.clear()
        expect(await keyv.get('bare')).toBeUndefined()
        await cleanup()
      })

      it('iterator yields every [key, value] of the namespace, without the prefix', async () => {
        const { make, cleanup } = await setup()
        // Keyv writes its namespace onto its store: the Map subject shares one Map, so `mine` comes last
        const other = make({ namespace: 'other' })
        const mine = make({ namespace: 'mine' })
        await mine.setMany([{ key: 'i1', value: 'one' }, { key: 'i2', value: { two: 2 } }])
        await other.set('i3', 'three')
        expect(mine.iterator).toBeTypeOf('function')
        const seen: Array<[string, unknown]> = []
        for await (const entry of mine.iterator!({})) seen.push(entry as [string, unknown])
        expect(seen.sort(([a], [b]) => a.localeCompare(b))).toEqual([
          ['i1', 'one'],
          ['i2', { two: 2 }],
        ])
        await cleanup()
      })

      it('emits no error on ordinary calls', async () => {
        const { keyv, cleanup } = await setup()
        const seen: unknown[] = []
        keyv.on('error', (error) => seen.push(error))
        await keyv.set('e', 1, T)
        await keyv.get('e')
        await keyv.delete('e')
        await keyv.clear()
        expect(seen).toEqual([])
        await cleanup()
      })
    })
  }
}
