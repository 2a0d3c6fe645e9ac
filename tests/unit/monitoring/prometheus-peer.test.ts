import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { errors } from '../../../src/errors.js'
import { loadPromClient } from '../../../src/monitoring/prometheus.js'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))

function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}' imported from /app/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  })
}

describe('prom-client as an optional peer', () => {
  it('turns a missing prom-client into E_PEER_MISSING with the install command', async () => {
    const missing = notFound('prom-client')
    const error: unknown = await loadPromClient(() => Promise.reject(missing)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.E_PEER_MISSING)
    const peer = error as InstanceType<typeof errors.E_PEER_MISSING>
    expect(peer.code).toBe('E_PEER_MISSING')
    expect(peer.packageName).toBe('prom-client')
    expect(peer.message).toBe(
      'the Prometheus exporter needs the optional package "prom-client": run npm install prom-client',
    )
    expect(peer.cause).toBe(missing)
  })

  it('also recognizes the CommonJS MODULE_NOT_FOUND code', async () => {
    const missing = Object.assign(new Error("Cannot find module 'prom-client'"), { code: 'MODULE_NOT_FOUND' })
    await expect(loadPromClient(() => Promise.reject(missing))).rejects.toBeInstanceOf(errors.E_PEER_MISSING)
  })

  it('rethrows any other import failure unchanged', async () => {
    const broken = new SyntaxError('Unexpected token in prom-client')
    await expect(loadPromClient(() => Promise.reject(broken))).rejects.toBe(broken)
  })

  it('loads the installed prom-client by default', async () => {
    const client = await loadPromClient()
    expect(typeof client.Registry).toBe('function')
  })
})

/** Every .ts file under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

describe('core isolation from the optional peers', () => {
  it('names prom-client and @opentelemetry/api only in the exporter modules, and loads them only lazily', () => {
    const mentions = sourceFiles(SRC).filter((file) =>
      /['"](prom-client|@opentelemetry\/)/.test(readFileSync(file, 'utf8')),
    )
    const names = mentions.map((file) => relative(SRC, file)).sort()
    expect(names.every((name) => /^monitoring\/(prometheus|opentelemetry)[-.]/.test(name))).toBe(true)
    for (const file of mentions) {
      const staticImports = readFileSync(file, 'utf8').match(
        /^import (?!type ).*from ['"](prom-client|@opentelemetry\/[^'"]+)['"]/gm,
      )
      expect({ file: relative(SRC, file), staticImports }).toEqual({ file: relative(SRC, file), staticImports: null })
    }
  })

  it('works without the peers installed: the core loads and the factories throw E_PEER_MISSING', async () => {
    // A resolve hook makes both peers unresolvable, as in an application that never installed them.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier === 'prom-client' || specifier.startsWith('@opentelemetry/')) {
        throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
      }
      return next(specifier, context)
    }`
    const url = (path: string): string => new URL(path, `file://${SRC}`).href
    const script = `
      import { register } from 'node:module'
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
      const core = await import(${JSON.stringify(url('index.ts'))})
      const { createPrometheusExporter } = await import(${JSON.stringify(url('monitoring/prometheus.ts'))})
      const { createOpenTelemetryExporter } = await import(${JSON.stringify(url('monitoring/opentelemetry.ts'))})
      const prom = await createPrometheusExporter().catch((e) => e)
      const otel = await createOpenTelemetryExporter().catch((e) => e)
      const show = (e) => ({ code: e.code, message: e.message, cause: e.cause?.code })
      console.log(JSON.stringify({ core: typeof core.InMemoryCache, prom: show(prom), otel: show(otel) }))`
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ])
    expect(JSON.parse(stdout)).toEqual({
      core: 'function',
      prom: {
        code: 'E_PEER_MISSING',
        message: 'the Prometheus exporter needs the optional package "prom-client": run npm install prom-client',
        cause: 'ERR_MODULE_NOT_FOUND',
      },
      otel: {
        code: 'E_PEER_MISSING',
        message:
          'the OpenTelemetry exporter needs the optional package "@opentelemetry/api": run npm install @opentelemetry/api',
        cause: 'ERR_MODULE_NOT_FOUND',
      },
    })
  }, 20_000)
})
