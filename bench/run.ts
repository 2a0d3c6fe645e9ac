/**
 * `npm run bench [-- --quick] [-- --strict] [-- NAME...]`
 *
 * Runs every scenario of bench/scenarios/ (or those whose name contains one of NAME) in this one
 * process, against one Redis: `REDIS_URL` when set, else a private redis-server on a free port.
 * Prints one table per scenario, then all results, the target checks, and writes
 * `.bench-out/latest.json` and `.bench-out/latest.md`.
 *
 * --quick   short rounds (a smoke run, under 30 s)
 * --strict  exit 1 when a target is missed (the default only reports)
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'

import { KEY_PREFIX, openRedis } from './contenders.js'
import {
  type BenchContext,
  CHECK_HEADERS,
  type CaseResult,
  FULL_CONFIG,
  PAYLOAD_SIZES,
  QUICK_CONFIG,
  RESULT_HEADERS,
  type Scenario,
  type TargetCheck,
  checkRows,
  markdownTable,
  msgpackSize,
  payload,
  resultRows,
  table,
} from './helpers.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
/** Scenarios run in this order; files not listed run after them, by name. */
const ORDER = ['l1-get', 'l2-get', 'l2-set', 'get-or-set-stampede', 'l2-value-sizes']

async function loadScenarios(filters: string[]): Promise<Scenario[]> {
  const dir = join(here, 'scenarios')
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort((a, b) => (ORDER.indexOf(a) + 1 || 999) - (ORDER.indexOf(b) + 1 || 999) || a.localeCompare(b))
    .filter((n) => filters.length === 0 || filters.some((f) => n.includes(f)))
  const scenarios: Scenario[] = []
  for (const name of names) {
    const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { scenario?: Scenario }
    if (!mod.scenario) throw new Error(`bench/scenarios/${name}.bench.ts must export \`scenario\``)
    scenarios.push(mod.scenario)
  }
  return scenarios
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  const quick = args.includes('--quick')
  const strict = args.includes('--strict')
  const unknown = args.filter((a) => a.startsWith('--') && a !== '--quick' && a !== '--strict')
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.join(' ')}; use --quick, --strict and scenario names`)
  const filters = args.filter((a) => !a.startsWith('--'))
  const config = quick ? QUICK_CONFIG : FULL_CONFIG
  const scenarios = await loadScenarios(filters)
  if (scenarios.length === 0) throw new Error(`no scenario matches ${filters.join(', ')}`)

  const log = (message: string): void => void process.stderr.write(`${message}\n`)
  const started = performance.now()
  const redis = await openRedis()
  const stop = (): void => {
    log('interrupted: cleaning up')
    void redis.close().finally(() => process.exit(130))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)

  const cpu = cpus()
  const env = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: `${cpu[0]?.model.trim() ?? 'unknown'} (${cpu.length} logical CPUs)`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    redis: redis.description,
    mode: quick ? 'quick' : 'full',
    config,
    versions: Object.fromEntries(
      ['@redis/client', 'lru-cache', 'msgpackr', 'bentocache', 'ioredis', 'cacheable', '@keyv/redis', 'keyv'].map((n) => [n, packageVersion(n)]),
    ),
    payloadBytes: Object.fromEntries(
      (Object.keys(PAYLOAD_SIZES) as Array<keyof typeof PAYLOAD_SIZES>).map((s) => {
        const p = payload(s)
        return [s, { msgpack: msgpackSize(p), json: Buffer.byteLength(JSON.stringify(p)) }]
      }),
    ),
  }
  const header = [
    `strata-cache bench (${env.mode}) — ${env.date}`,
    `node ${env.node} on ${env.platform}, ${env.cpu}, ${env.memoryGb} GB`,
    `redis: ${env.redis}`,
    `payloads (msgpack / JSON bytes): ${Object.entries(env.payloadBytes).map(([k, v]) => `${k} ${v.msgpack}/${v.json}`).join(', ')}`,
  ].join('\n')
  console.log(`${header}\n`)

  const cases: CaseResult[] = []
  const checks: TargetCheck[] = []
  const sections: Array<{ name: string; title: string; notes: string[]; table?: { headers: string[]; rows: string[][] } }> = []
  const extras: Record<string, unknown> = {}
  const ctx: BenchContext = { redis, config, log }
  try {
    const removed = await redis.cleanup()
    if (removed > 0) log(`removed ${removed} leftover ${KEY_PREFIX}* keys`)
    for (const s of scenarios) {
      log(`running ${s.name}: ${s.title}`)
      const t0 = performance.now()
      const result = await s.run(ctx)
      log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      cases.push(...result.cases)
      checks.push(...result.checks)
      sections.push({ name: s.name, title: s.title, notes: result.notes, ...(result.table ? { table: result.table } : {}) })
      if (result.extra) extras[s.name] = result.extra
      console.log(`## ${s.name}: ${s.title}`)
      if (result.cases.length > 0) console.log(table(RESULT_HEADERS, resultRows(result.cases)))
      if (result.table) console.log(table(result.table.headers, result.table.rows))
      for (const note of result.notes) console.log(`- ${note}`)
      console.log('')
    }
    const leftovers = (await redis.benchKeys()).filter((k) => !/^sbench_(strata_|raw:|bento|cacheable)/.test(k))
    if (leftovers.length > 0) log(`note: keys with an unexpected layout: ${leftovers.slice(0, 5).join(', ')}`)
  } finally {
    await redis.close()
  }

  const seconds = (performance.now() - started) / 1000
  const targets = checks.filter((c) => c.op !== 'info')
  const missed = targets.filter((c) => !c.met)
  console.log('# All results')
  console.log(table(RESULT_HEADERS, resultRows(cases)))
  console.log('')
  console.log('# Targets and ratios')
  console.log(table(CHECK_HEADERS, checkRows(checks)))
  console.log('')
  console.log(`${targets.length - missed.length} of ${targets.length} targets met${missed.length > 0 ? ` (missed: ${missed.map((m) => m.target).join('; ')})` : ''}; total ${seconds.toFixed(1)} s`)

  const out = join(root, '.bench-out')
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify({ env, seconds, results: cases, checks, sections, extras }, null, 2)}\n`)
  const md = [
    `Date: ${env.date} · Node ${env.node} · ${env.cpu} · Redis: ${env.redis} · mode: ${env.mode}`,
    '',
    markdownTable(RESULT_HEADERS, resultRows(cases)),
    '',
    ...sections.flatMap((s) => (s.table ? [`${s.title}`, '', markdownTable(s.table.headers, s.table.rows), ''] : [])),
    markdownTable(CHECK_HEADERS, checkRows(checks)),
    '',
    ...sections.flatMap((s) => s.notes.map((n) => `- ${s.name}: ${n}`)),
  ].join('\n')
  writeFileSync(join(out, 'latest.md'), `${md}\n`)
  log(`wrote .bench-out/latest.json and .bench-out/latest.md`)
  return strict && missed.length > 0 ? 1 : 0
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
