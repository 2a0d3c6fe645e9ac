/**
 * The published package, as a consumer gets it: builds with scripts/build.ts into a temporary
 * directory (never the repository's dist/, which a fresh clone does not have), packs it with
 * `npm pack`, unpacks the tarball into a consumer project's node_modules and loads it from there
 * with `require` (.cjs) and `import` (.mjs), resolves its types as TypeScript does for each
 * module mode, and runs the CLI. The consumer reaches the package's dependencies through
 * symlinks into this repository's node_modules, so nothing is downloaded.
 */
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { build } from '../../../scripts/build.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const NAME = 'strata-cache'
/** Two tsc runs, npm pack and a few node processes; slow on a loaded CI machine, far from a hang. */
const SETUP_TIMEOUT_MS = 150_000
const TEST_TIMEOUT_MS = 60_000

interface Manifest {
  version: string
  files: string[]
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  exports: Record<string, string | Record<string, Record<string, string>>>
  bin: Record<string, string>
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Manifest
const SUBPATHS = Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json')

let work: string
let consumer: string
/** The unpacked package inside the consumer's node_modules. */
let installed: string
/** Paths in the tarball, relative to its root. */
let packed: string[]

/** Copies what `files` names (and package.json) into a staging directory, builds dist/ there, packs it. */
async function packIntoTemp(): Promise<string> {
  const stage = join(work, 'stage')
  mkdirSync(stage)
  cpSync(join(ROOT, 'package.json'), join(stage, 'package.json'))
  for (const entry of manifest.files.filter((entry) => entry !== 'dist')) {
    if (existsSync(join(ROOT, entry))) cpSync(join(ROOT, entry), join(stage, entry), { recursive: true })
  }
  await build(join(stage, 'dist'), { check: false })
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: stage })
  const [result] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  if (result === undefined) throw new Error('npm pack reported nothing')
  packed = result.files.map((file) => file.path)
  return join(work, result.filename)
}

/** A consumer project with the tarball unpacked as node_modules/strata-cache and its dependencies linked. */
async function installInto(tarball: string): Promise<void> {
  consumer = join(work, 'consumer')
  const modules = join(consumer, 'node_modules')
  mkdirSync(modules, { recursive: true })
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  await run('tar', ['-xzf', tarball, '-C', modules])
  installed = join(modules, NAME)
  cpSync(join(modules, 'package'), installed, { recursive: true })
  rmSync(join(modules, 'package'), { recursive: true })
  const linked = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies), '@types/node']
  for (const name of linked) {
    mkdirSync(dirname(join(modules, name)), { recursive: true })
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name), 'dir')
  }
}

/** Runs a file of the consumer with node and parses the JSON it prints. */
async function runConsumer(file: string, source: string): Promise<Record<string, unknown>> {
  writeFileSync(join(consumer, file), source)
  const { stdout } = await run(process.execPath, [file], { cwd: consumer })
  return JSON.parse(stdout) as Record<string, unknown>
}

/** Where TypeScript resolves `specifier` from `fromFile` in the consumer, relative to the package. */
function resolveTypes(specifier: string, fromFile: string, options: ts.CompilerOptions, mode?: ts.ResolutionMode): string | undefined {
  const resolved = ts.resolveModuleName(specifier, join(consumer, fromFile), options, ts.sys, undefined, undefined, mode).resolvedModule
  return resolved === undefined ? undefined : posix.relative(installed.split('\\').join('/'), resolved.resolvedFileName.split('\\').join('/'))
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'strata-package-'))
  await installInto(await packIntoTemp())
}, SETUP_TIMEOUT_MS)

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

describe('the packed tarball', { timeout: TEST_TIMEOUT_MS }, () => {
  it('holds both builds, the CLI, the docs and the licence, and no sources or tests', () => {
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'docs/cli.md',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cjs/package.json',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cli/main.js',
      'dist/typescript-5.4-required.d.ts',
      'dist/cjs/typescript-5.4-required.d.ts',
    ]) {
      expect(packed, path).toContain(path)
    }
    expect(packed.filter((path) => /^(src|tests|scripts|bench|examples)\//.test(path) || path.startsWith('dist/cjs/cli/'))).toEqual([])
    expect(JSON.parse(readFileSync(join(installed, 'dist/cjs/package.json'), 'utf8'))).toEqual({ type: 'commonjs' })
  })

  it('resolves every relative link of the README to a file in the package', () => {
    const readme = readFileSync(join(installed, 'README.md'), 'utf8')
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
    const relative = links.filter((link) => !/^([a-z][a-z0-9+.-]*:|#)/i.test(link)).map((link) => link.replace(/#.*$/, ''))
    expect(relative.length).toBeGreaterThan(0)
    expect(relative.filter((link) => !packed.includes(posix.normalize(link)))).toEqual([])
  })

  it('has a file behind every export condition, CommonJS under dist/cjs', () => {
    for (const subpath of SUBPATHS) {
      const conditions = manifest.exports[subpath] as Record<string, Record<string, string>>
      expect(Object.keys(conditions), subpath).toEqual(['import', 'require'])
      for (const [condition, targets] of Object.entries(conditions)) {
        expect(Object.keys(targets), `${subpath} ${condition}`).toEqual(['types@<5.4', 'types', 'default'])
        for (const target of Object.values(targets)) expect(packed, `${subpath} ${condition}`).toContain(posix.normalize(target))
        expect(targets.default?.startsWith('./dist/cjs/'), `${subpath} ${condition}`).toBe(condition === 'require')
      }
    }
  })
})

describe('loading the installed package', { timeout: TEST_TIMEOUT_MS }, () => {
  it('works with require() from a CommonJS file', async () => {
    const result = await runConsumer(
      'check.cjs',
      `const strata = require('strata-cache')
const prometheus = require('strata-cache/monitoring/prometheus')
const opentelemetry = require('strata-cache/monitoring/opentelemetry')
;(async () => {
  const cache = new strata.InMemoryCache({ namespace: 'cjs' })
  await cache.set('user:1', { name: 'Ada', born: new Date(0) })
  const value = await cache.get('user:1')
  const error = await cache.set('user:2', undefined).catch((e) => e)
  new strata.GenericRedisCache({ redisUrl: 'redis://127.0.0.1:1' })
  console.log(JSON.stringify({
    resolved: require.resolve('strata-cache'),
    name: value.name,
    born: value.born instanceof Date,
    miss: (await cache.get('nope')) === undefined,
    errorCode: error.code,
    errorClass: error instanceof strata.errors.E_UNDEFINED_VALUE,
    prometheus: typeof prometheus.createPrometheusExporter,
    opentelemetry: typeof opentelemetry.METER_NAME,
  }))
})()
`,
    )
    expect(result).toEqual({
      resolved: join(installed, 'dist/cjs/index.js'),
      name: 'Ada',
      born: true,
      miss: true,
      errorCode: 'E_UNDEFINED_VALUE',
      errorClass: true,
      prometheus: 'function',
      opentelemetry: 'string',
    })
  })

  it('works with import from an ES module', async () => {
    const result = await runConsumer(
      'check.mjs',
      `import { InMemoryCache, GenericRedisCache, errors } from 'strata-cache'
import { createPrometheusExporter } from 'strata-cache/monitoring/prometheus'
import { METER_NAME } from 'strata-cache/monitoring/opentelemetry'
const cache = new InMemoryCache({ namespace: 'esm' })
await cache.set('user:1', { name: 'Ada' })
const value = await cache.get('user:1')
const error = await cache.set('user:2', undefined).catch((e) => e)
new GenericRedisCache({ redisUrl: 'redis://127.0.0.1:1' })
console.log(JSON.stringify({
  resolved: import.meta.resolve('strata-cache'),
  name: value.name,
  errorClass: error instanceof errors.E_UNDEFINED_VALUE,
  prometheus: typeof createPrometheusExporter,
  opentelemetry: typeof METER_NAME,
}))
`,
    )
    expect(result).toEqual({
      resolved: new URL(`file://${join(installed, 'dist/index.js')}`).href,
      name: 'Ada',
      errorClass: true,
      prometheus: 'function',
      opentelemetry: 'string',
    })
  })

  it('runs the strata CLI (ESM only) from its bin entry', async () => {
    const { stdout } = await run(process.execPath, [join(installed, manifest.bin.strata ?? ''), '--version'], { cwd: consumer })
    expect(stdout.trim()).toBe(manifest.version)
  })
})

describe('types of the installed package', { timeout: TEST_TIMEOUT_MS }, () => {
  const node16 = { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }
  const bundler = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }
  const node10 = { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }

  it('resolves the CommonJS types for require and the ESM types for import, for every subpath', () => {
    for (const subpath of SUBPATHS) {
      const specifier = posix.join(NAME, subpath)
      const file = subpath === '.' ? 'index' : subpath.slice(2)
      expect(resolveTypes(specifier, 'consumer.cts', node16, ts.ModuleKind.CommonJS), `${specifier} from .cts`).toBe(`dist/cjs/${file}.d.ts`)
      expect(resolveTypes(specifier, 'consumer.mts', node16, ts.ModuleKind.ESNext), `${specifier} from .mts`).toBe(`dist/${file}.d.ts`)
      expect(resolveTypes(specifier, 'consumer.ts', bundler, ts.ModuleKind.ESNext), `${specifier} with bundler`).toBe(`dist/${file}.d.ts`)
      // moduleResolution "node" (default NestJS / Express TypeScript set-ups) reads types and typesVersions.
      expect(resolveTypes(specifier, 'consumer.ts', node10), `${specifier} with node10`).toBe(`dist/cjs/${file}.d.ts`)
    }
  })

  it('type-checks a CommonJS and an ESM consumer against them, with no error in the package', () => {
    const use = `const cache = new InMemoryCache({ defaultTtl: '10m' })
export const loaded: Promise<{ id: number } | undefined> = cache.getOrSet('user:1', async () => ({ id: 1 }))
export const exporter: Promise<PrometheusExporter> = createPrometheusExporter()
`
    writeFileSync(
      join(consumer, 'consumer.cts'),
      `import { InMemoryCache } from 'strata-cache'
import { createPrometheusExporter, type PrometheusExporter } from 'strata-cache/monitoring/prometheus'
${use}`,
    )
    writeFileSync(
      join(consumer, 'consumer.mts'),
      `import { InMemoryCache } from 'strata-cache'
import { createPrometheusExporter, type PrometheusExporter } from 'strata-cache/monitoring/prometheus'
${use}`,
    )
    const program = ts.createProgram([join(consumer, 'consumer.cts'), join(consumer, 'consumer.mts')], {
      ...node16,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
      strict: true,
      noEmit: true,
      types: ['node'],
    })
    // The consumer's files and the package's declarations; not TypeScript's libs nor other packages.
    const checked = program.getSourceFiles().filter((file) => file.fileName.includes(`/node_modules/${NAME}/`) || !file.fileName.includes('/node_modules/'))
    expect(checked.some((file) => file.fileName.endsWith('/dist/cjs/index.d.ts'))).toBe(true)
    expect(checked.some((file) => file.fileName.endsWith('/dist/index.d.ts'))).toBe(true)
    const diagnostics = checked.flatMap((file) => [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)])
    expect(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => consumer, getNewLine: () => '\n' })).toBe('')
  })
})
