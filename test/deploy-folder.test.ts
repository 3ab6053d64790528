// The container images without Docker: builds each app's production folder exactly as its Dockerfile
// does (infra/docker/build-deploy.sh: tsc -> dist, `pnpm deploy --prod`, publishConfig applied), then
// boots it from that folder through the image's entry point (infra/docker/entrypoint.sh, which assembles
// DATABASE_URL from DB_* the way ECS passes them) against MariaDB and an SQS server.
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createApiKey } from '@labclimate/store'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { freePort, REPO_ROOT } from '@labclimate/testkit/processes'
import { startTestQueue } from '@labclimate/testkit/sqs'
import { waitFor } from '@labclimate/testkit/wait'

// Two cold builds (tsc + pnpm deploy) and two boots: more than tap's default 120 s on a busy 2-core machine.
t.setTimeout(300_000)

const run = promisify(execFile)
// The apps get only the variables ECS would give them, plus a PATH to the Node running this test
// (the pinned Node 24) and the shell tools the entry point uses.
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`
const ENTRYPOINT = join(REPO_ROOT, 'infra', 'docker', 'entrypoint.sh')

async function buildDeployFolder (app: 'api' | 'worker'): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), `labclimate-deploy-${app}-`)), 'app')
  await run('sh', [join(REPO_ROOT, 'infra', 'docker', 'build-deploy.sh'), app, out], { cwd: REPO_ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 })
  return out
}

interface Booted { stop: () => Promise<number | string | null>, output: () => string, exited: () => boolean }

function boot (dir: string, cmd: string[], env: Record<string, string>): Booted {
  // As the image runs it: ENTRYPOINT entrypoint.sh, CMD node dist/..., WORKDIR the deploy folder.
  const child = spawn('sh', [ENTRYPOINT, ...cmd], { cwd: dir, env: { PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
  return {
    output: () => output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      return await exit
    }
  }
}

function tsFilesIn (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() &&
      /\.(ts|mts|cts)$/.test(d.name) &&
      !/\.d\.(ts|mts|cts)$/.test(d.name) &&
      /node_modules\/@labclimate\/[^/]+(\/(?!node_modules\/)[^/]+)*$/.test(d.parentPath))
    .map((d) => join(d.parentPath, d.name))
}

t.test('every workspace package ships compiled JS: build script, files and publishConfig.exports', async (t) => {
  for (const dir of ['apps', 'packages']) {
    for (const name of readdirSync(join(REPO_ROOT, dir))) {
      const file = join(REPO_ROOT, dir, name, 'package.json')
      if (!existsSync(file)) continue
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        name: string
        exports?: Record<string, string>
        files?: string[]
        publishConfig?: { exports?: Record<string, string> }
        scripts?: Record<string, string>
      }
      if (manifest.exports === undefined) continue // not imported by anyone (e.g. a CLI app)
      t.match(manifest.scripts?.build ?? '', /tsc .*--outDir dist/, `${manifest.name}: build script compiles to dist/`)
      t.same(manifest.files, ['dist'], `${manifest.name}: files = dist`)
      const expected = Object.fromEntries(Object.entries(manifest.exports).map(([k, v]) => [k, v.replace(/^\.\/src\/(.*)\.ts$/, './dist/$1.js')]))
      t.same(manifest.publishConfig?.exports, expected, `${manifest.name}: publishConfig.exports mirrors exports in dist/`)
    }
  }
})

t.test('each app boots from its production deploy folder against MariaDB and SQS', async (t) => {
  const [apiDir, workerDir] = [await buildDeployFolder('api'), await buildDeployFolder('worker')]
  t.teardown(() => { for (const d of [apiDir, workerDir]) rmSync(join(d, '..'), { recursive: true, force: true }) })

  for (const dir of [apiDir, workerDir]) {
    t.ok(existsSync(join(dir, 'dist')), `${dir}: compiled dist/`)
    t.notOk(existsSync(join(dir, 'src')), 'no TypeScript sources shipped')
    t.same(tsFilesIn(join(dir, 'node_modules')), [], 'no TypeScript left in the workspace packages')
    for (const dev of ['typescript', 'tap', 'aws-cdk-lib', 'fauxqs']) {
      t.notOk(existsSync(join(dir, 'node_modules', dev)), `production dependencies only: no ${dev}`)
    }
  }

  const queue = await startTestQueue(t)
  const database = await createTestDatabase(t, { migrate: false })
  const url = new URL(database.url)
  // ECS gives the password as a secret (DB_PASSWORD) and the rest as plain env; the entry point assembles DATABASE_URL.
  const env = {
    DB_HOST: url.hostname,
    DB_PORT: url.port || '3306',
    DB_NAME: database.name,
    DB_USER: decodeURIComponent(url.username),
    DB_PASSWORD: decodeURIComponent(url.password),
    SQS_QUEUE_URL: queue.queueUrl,
    SQS_ENDPOINT: queue.endpoint,
    AWS_REGION: queue.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    LOG_LEVEL: 'warn'
  }

  const worker = boot(workerDir, ['node', 'dist/main.js'], { ...env, SQS_WAIT_TIME_SECONDS: '1' })
  // eslint-disable-next-line prefer-const -- read by the teardown registered before it starts; a const would throw there if the test fails first
  let api: ReturnType<typeof boot> | undefined
  t.teardown(async () => { await api?.stop(); await worker.stop() })
  await waitFor('worker (deploy folder) migrated the database', async () =>
    (await database.db.introspection.getTables()).some((tbl) => tbl.name === 'labs'), 60_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; worker said:\n${worker.output()}`) })
  t.pass('the worker from its deploy folder applied the migrations')

  // The hourly maintenance task runs the same image with another command; one run must finish cleanly.
  const archiveDir = mkdtempSync(join(tmpdir(), 'labclimate-archive-'))
  t.teardown(() => { rmSync(archiveDir, { recursive: true, force: true }) })
  const maintenance = boot(workerDir, ['node', 'dist/maintenance-main.js'], { ...env, ARCHIVE_DIR: archiveDir })
  await waitFor('maintenance run', () => maintenance.exited(), 60_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; maintenance said:\n${maintenance.output()}`) })
  const maintenanceExit = await maintenance.stop() // already exited: just its code
  t.equal(maintenanceExit, 0, `maintenance (worker deploy folder) exits 0\n${maintenance.output()}`)

  // The one-off admin task (bootstrap, keys, labs) is the same image again: its entry point must load from dist.
  const adminTask = boot(workerDir, ['node', 'dist/admin-main.js', 'labs', 'list'], env)
  await waitFor('admin task', () => adminTask.exited(), 60_000)
  t.equal(await adminTask.stop(), 0, `node dist/admin-main.js labs list (worker deploy folder) exits 0\n${adminTask.output()}`)

  const port = await freePort()
  api = boot(apiDir, ['node', 'dist/server.js'], { ...env, PORT: String(port), HOST: '127.0.0.1' })
  const base = `http://127.0.0.1:${port}`
  await waitFor('API (deploy folder) ready', async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok, 60_000)
    .catch((error: unknown) => { throw new Error(`${String(error)}; api said:\n${api?.output() ?? ''}`) })
  t.pass('the API from its deploy folder is ready (database and queue reachable)')
  const root = await fetch(`${base}/`)
  t.equal(root.status, 200)
  t.match(((await root.json()) as { version: string }).version, /^\d+\.\d+\.\d+$/, 'version read from the deployed package.json')

  // A little data through the compiled code: device -> API (deploy folder) -> SQS -> worker (deploy folder) -> MariaDB.
  const json = { 'content-type': 'application/json' }
  const admin = { authorization: `Bearer ${(await createApiKey(database.db, { role: 'admin', label: 'deploy-folder test', nowMs: Date.now() })).key}`, ...json }
  t.equal((await fetch(`${base}/labs`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 21, name: 'Cold room', address: 'B2' }) })).status, 201)
  const issued = await fetch(`${base}/keys`, { method: 'POST', headers: admin, body: JSON.stringify({ role: 'device', lab_id: 21, label: 'sensor' }) })
  const device = { authorization: `Bearer ${(await issued.json() as { key: string }).key}`, ...json }
  const start = Date.now() - 10 * 60_000
  const readings = Array.from({ length: 10 }, (_, i) => ({
    timestamp: new Date(start + i * 30_000).toISOString(),
    temperature: `${20 + i}°C`,
    humidity: '45%'
  }))
  const upload = await fetch(`${base}/labs/21/readings`, { method: 'POST', headers: device, body: JSON.stringify(readings) })
  t.equal(upload.status, 202, 'upload accepted')
  const stored = await waitFor('readings stored by the worker', async () => {
    const labs = await (await fetch(`${base}/labs`, { headers: admin })).json() as Array<{ lab_id: number, readings: number, avg_temperature_c: number }>
    return labs.find((l) => l.lab_id === 21 && l.readings === 10)
  }, 30_000).catch((error: unknown) => { throw new Error(`${String(error)}; worker said:\n${worker.output()}`) })
  t.equal(stored.avg_temperature_c, 24.5, 'average of 20..29 °C')

  // SIGTERM, as ECS sends it: both exit cleanly well inside the 30 s stop timeout.
  const started = Date.now()
  t.equal(await api.stop(), 0, `API exits 0 on SIGTERM\n${api.output()}`)
  t.equal(await worker.stop(), 0, `worker exits 0 on SIGTERM\n${worker.output()}`)
  t.ok(Date.now() - started < 30_000, 'both stopped inside the 30 s stop timeout')
})
