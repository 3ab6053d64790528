// The maintenance entry point and its pieces: configuration, the S3 archive (fauxqs), a real crash and a real second process.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import type { Reading } from '@labclimate/contract'
import { archiveKeys, storeReadings, type Database } from '@labclimate/store'
import { startFauxqs } from 'fauxqs'
import { sql, type Kysely } from 'kysely'
import { Migrator } from 'kysely/migration'
import t, { type Test } from 'tap'
import { migrations } from '@labclimate/store/migrations'
import { createTestDatabase } from '@labclimate/testkit/mysql'
import { REPO_ROOT, startApp } from '@labclimate/testkit/processes'
import { loadMaintenanceConfig } from '../src/maintenance-config.ts'
import { createS3Client, S3ArchiveStore } from '../src/maintenance-s3.ts'

const DAY = 86_400_000
// The migration lays partitions out from the real "today" (it takes no clock). A run crossing UTC midnight would
// see two todays, so one that starts in the last 5 minutes of a UTC day waits for the next.
const untilMidnight = DAY - (Date.now() % DAY)
if (untilMidnight < 5 * 60_000) await new Promise((resolve) => setTimeout(resolve, untilMidnight + 1000))
const TODAY = Math.floor(Date.now() / DAY) * DAY
const MAIN = join(REPO_ROOT, 'apps/worker/src/maintenance-main.ts')
const FIXTURE = join(REPO_ROOT, 'apps/worker/test/fixtures/maintenance-pause.ts')

t.test('configuration: defaults, and every problem named at once', async (t) => {
  const config = loadMaintenanceConfig({ DATABASE_URL: 'mysql://u:p@h:3306/d' })
  t.same(config.retention, { rawDays: 35, minuteDays: 400, hourDays: 3650 })
  t.equal(config.aheadDays, 7)
  t.equal(config.archive, undefined)
  t.equal(config.archiveRequired, true)
  t.same(loadMaintenanceConfig({ DATABASE_URL: 'mysql://h/d', ARCHIVE_DIR: '/tmp/a' }).archive, { kind: 'dir', dir: '/tmp/a' })
  t.same(loadMaintenanceConfig({ DATABASE_URL: 'mysql://h/d', ARCHIVE_BUCKET: 'b', AWS_REGION: 'eu-west-1' }).archive,
    { kind: 's3', bucket: 'b', prefix: '', region: 'eu-west-1' })
  const contradictory = { RETENTION_RAW_DAYS: '7', RETENTION_MINUTE_DAYS: '30', RETENTION_HOUR_DAYS: '25', ARCHIVE_BUCKET: 'b', ARCHIVE_DIR: '/x' }
  t.throws(() => loadMaintenanceConfig(contradictory), {
    name: 'ConfigError',
    problems: [
      'RETENTION_RAW_DAYS must be a whole number from 22 to 3650, not "7"',
      'AWS_REGION is required',
      'DATABASE_URL is required (mysql or sqlite URL)',
      // the invalid raw value falls back to its default, 35, which the minute value then undercuts
      'RETENTION_*_DAYS: minute rollups must be kept at least as long as raw readings',
      'RETENTION_*_DAYS: hour rollups must be kept at least as long as minute rollups',
      'set ARCHIVE_BUCKET or ARCHIVE_DIR, not both'
    ]
  })
})

t.test('the S3 archive store streams big objects in parts and small ones in one request', async (t) => {
  const server = await startFauxqs({ port: 0, logger: false })
  server.createBucket('archive')
  const client = createS3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${server.port}`, credentials: { accessKeyId: 't', secretAccessKey: 't' } })
  t.teardown(async () => { client.destroy(); await server.stop() })
  const store = new S3ArchiveStore({ client, bucket: 'archive', prefix: 'test/', partSize: 5 * 1024 * 1024 })
  const big = randomBytes(12 * 1024 * 1024 + 123)
  async function * chunks (): AsyncGenerator<Uint8Array> { for (let i = 0; i < big.length; i += 1_000_000) yield big.subarray(i, i + 1_000_000) }
  await store.putStream('big.bin', chunks(), { contentType: 'application/octet-stream', sha256: () => 'x' })
  t.equal(await store.size('big.bin'), big.length)
  const back = await client.send(new GetObjectCommand({ Bucket: 'archive', Key: 'test/big.bin' }))
  t.ok(Buffer.from(await back.Body!.transformToByteArray()).equals(big), 'three parts, reassembled byte for byte')
  await store.putJson('m.json', { a: 1 })
  t.same(await store.getJson('m.json'), { a: 1 })
  t.equal(await store.getJson('missing.json'), undefined)
  t.equal(await store.size('missing.bin'), undefined)
})

function readingsOn (dayStartMs: number, labId: number): Reading[] {
  return Array.from({ length: 240 }, (_, i) => ({
    labId,
    recordedAtMs: dayStartMs + i * 360_000,
    temperatureMilliC: 20000 + ((i * 131 + labId) % 3000),
    humidityMilliPct: 40000 + ((i * 71) % 9000)
  }))
}
// Days relative to today: 3 past the default 35-day raw retention, 2 within it.
const EXPIRED = [-40, -39, -36]
const KEPT = [-35, -1]
const INPUT = [...EXPIRED, ...KEPT].flatMap((d) => [1, 2].flatMap((lab) => readingsOn(TODAY + d * DAY, lab)))

/** A database that has been running for 40 days: readings stored before the partitioning migration ran. */
async function agedDatabase (t: Test): Promise<{ db: Kysely<Database>, url: string }> {
  const { db, url } = await createTestDatabase(t, { migrate: false })
  const names = Object.keys(migrations).sort()
  const mine = names.indexOf('2026_11_25_0003_partition_readings')
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } })
  t.notOk((await migrator.migrateTo(names[mine - 1] as string)).error)
  // Today's store also stamps lab_rollup_changes, a later migration's table: lend it for the old rows, then take
  // it away again, so that migrating to the latest runs every later migration as a real upgrade would.
  const stamps = migrations['2026_12_02_0001_lab_rollup_changes']
  if (stamps === undefined) throw new Error('the lab_rollup_changes migration has moved: update this test')
  await stamps.up(db)
  await storeReadings(db, INPUT)
  await stamps.down?.(db)
  t.notOk((await migrator.migrateToLatest()).error)
  return { db, url }
}

async function partitionNames (db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT PARTITION_NAME AS name FROM information_schema.PARTITIONS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'readings' ORDER BY PARTITION_ORDINAL_POSITION`.execute(db)
  return rows.map((r) => r.name)
}
const pname = (ms: number): string => `p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`

interface Run { lines: (match: RegExp) => Promise<string>, exit: Promise<number | string | null>, output: () => string, kill: () => void }

function watch (child: ChildProcess, output: () => string): Run {
  const exit = new Promise<number | string | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode)
    else child.once('exit', (code, signal) => resolve(code ?? signal))
  })
  return {
    output,
    exit,
    kill: () => { child.kill('SIGKILL') },
    lines: async (match) => {
      for (;;) {
        const m = output().match(match)
        if (m !== null) return m[0]
        if (child.exitCode !== null) throw new Error(`exited without ${match}: ${output()}`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
}

/** The real entry point, with only the given environment (and PATH). */
const runMain = (env: Record<string, string>): Run => { const app = startApp(MAIN, env); return watch(app.child, app.output) }

/** The pausing fixture; it takes its settings as arguments and reads no environment. */
function runFixture (args: string[]): Run {
  const child = spawn(process.execPath, [FIXTURE, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  return watch(child, () => output)
}

const rawDays = async (db: Kysely<Database>): Promise<number[]> => {
  const rows = await db.selectFrom('readings').select(sql<number>`FLOOR(recorded_at_ms / ${DAY}) * ${DAY}`.as('d')).distinct().orderBy('d').execute()
  return rows.map((r) => (Number(r.d) - TODAY) / DAY)
}

t.test('killed halfway, then run again: a second process meanwhile is locked out; nothing unarchived is ever dropped', async (t) => {
  const { db, url } = await agedDatabase(t)
  const dir = await mkdtemp(join(tmpdir(), 'labclimate-maint-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const before = await partitionNames(db)
  t.equal(before[0], pname(TODAY - 40 * DAY), 'the migration gave the old data daily partitions')

  // First run: drops the first expired unit, archives the second, then is killed before dropping it.
  const first = runFixture([url, dir, '2'])
  const paused = await first.lines(/PAUSED p\d+/)
  t.equal(paused, `PAUSED ${pname(TODAY - 39 * DAY)}`)
  t.same(await rawDays(db), [-39, -36, -35, -1], 'day -40 was dropped, -39 archived but not yet dropped')

  // A second process while the first holds the lock: it does nothing and says so.
  const second = runMain({ DATABASE_URL: url, ARCHIVE_DIR: dir, LOG_LEVEL: 'info' })
  t.equal(await second.exit, 0)
  t.match(second.output(), /another run holds the maintenance lock/)
  t.same(await rawDays(db), [-39, -36, -35, -1])

  first.kill()
  await first.exit

  // The real entry point after the crash: the lock went with the dead connection; the archived day is confirmed, not rewritten.
  const third = runMain({ DATABASE_URL: url, ARCHIVE_DIR: dir, LOG_LEVEL: 'info' })
  t.equal(await third.exit, 0, third.output())
  t.same(await rawDays(db), KEPT, 'only retained raw days remain')
  const done = third.output().split('\n').filter((l) => l.includes('"maintenance done"')).map((l) => JSON.parse(l))[0]
  t.ok(done, 'the run reports what it did')
  t.same(
    done.report.rawDropped.map((u: { unit: string }) => u.unit),
    [-39, -38, -37, -36].map((d) => pname(TODAY + d * DAY)),
    'the rest of the expired units, including the empty days -38 and -37'
  )
  t.match(third.output(), /"raw.already-archived"/, 'day -39 was already archived by the killed run')
  t.comment(JSON.stringify({ partitionsBefore: done.report.rawBefore, partitionsAfter: done.report.rawAfter }))

  for (const d of EXPIRED) {
    const keys = archiveKeys(TODAY + d * DAY)
    const manifest = JSON.parse(await readFile(join(dir, keys.manifest), 'utf8'))
    const bytes = await readFile(join(dir, keys.object))
    const lines = gunzipSync(bytes).toString().trimEnd().split('\n').map((l) => JSON.parse(l))
    const want = INPUT.filter((r) => r.recordedAtMs >= TODAY + d * DAY && r.recordedAtMs < TODAY + (d + 1) * DAY)
    t.equal(manifest.rows, want.length)
    t.equal(manifest.sha256, createHash('sha256').update(bytes).digest('hex'))
    t.same(lines.map((l) => [l.lab_id, l.recorded_at_ms]), want.map((r) => [r.labId, r.recordedAtMs]))
  }
  const minute = await db.selectFrom('reading_rollups_minute').select((eb) => eb.fn.sum<number>('reading_count').as('n')).executeTakeFirstOrThrow()
  t.equal(Number(minute.n), INPUT.length, 'minute rollups of every day survive raw expiry')
})

t.test('the entry point archives to S3 when ARCHIVE_BUCKET is set', async (t) => {
  const { db, url } = await agedDatabase(t)
  const server = await startFauxqs({ port: 0, logger: false })
  server.createBucket('lab-archive')
  const endpoint = `http://127.0.0.1:${server.port}`
  const client = createS3Client({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' } })
  t.teardown(async () => { client.destroy(); await server.stop() })
  const job = runMain({ DATABASE_URL: url, ARCHIVE_BUCKET: 'lab-archive', ARCHIVE_PREFIX: 'prod/', AWS_REGION: 'us-east-1', S3_ENDPOINT: endpoint })
  t.equal(await job.exit, 0, job.output())
  t.same(await rawDays(db), KEPT)
  const listed = await client.send(new ListObjectsV2Command({ Bucket: 'lab-archive' }))
  t.same((listed.Contents ?? []).map((o) => o.Key).sort(), EXPIRED.flatMap((d) => Object.values(archiveKeys(TODAY + d * DAY)).map((k) => `prod/${k}`)).sort())
  const key = archiveKeys(TODAY - 36 * DAY)
  const manifest = JSON.parse(await (await client.send(new GetObjectCommand({ Bucket: 'lab-archive', Key: `prod/${key.manifest}` }))).Body!.transformToString())
  const body = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: 'lab-archive', Key: `prod/${key.object}` }))).Body!.transformToByteArray())
  t.equal(manifest.sha256, createHash('sha256').update(body).digest('hex'))
  t.equal(gunzipSync(body).toString().trimEnd().split('\n').length, manifest.rows)
  t.equal(manifest.rows, 480)
  t.comment(JSON.stringify(manifest))
})

t.test('without an archive the entry point keeps raw days and fails loudly, unless ARCHIVE_REQUIRED=false', async (t) => {
  const { db, url } = await agedDatabase(t)
  const refused = runMain({ DATABASE_URL: url })
  t.equal(await refused.exit, 1)
  t.match(refused.output(), /raw days past retention were kept/)
  t.same(await rawDays(db), [...EXPIRED, ...KEPT])
  const dropped = runMain({ DATABASE_URL: url, ARCHIVE_REQUIRED: 'false' })
  t.equal(await dropped.exit, 0, dropped.output())
  t.same(await rawDays(db), KEPT)
})
