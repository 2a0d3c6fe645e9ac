import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach } from 'vitest'
import type { PrometheusExporter } from '../../src/monitoring/prometheus.js'

const servers: Server[] = []

/** Closes the servers `serveMetrics` started, after each test of the file that imports this. */
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve))
})

/** Serves an exporter's handler on a free local port; returns its metrics URL. */
export async function serveMetrics(exporter: PrometheusExporter): Promise<string> {
  const server = createServer(exporter.handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
}
