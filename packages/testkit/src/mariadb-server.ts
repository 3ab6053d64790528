// A throwaway MariaDB server for the test suite and the benchmarks, so that `pnpm test` needs no
// database server on the machine: MySQL is the production path and keeps its coverage on a fresh
// machine too. The server binaries come from Debian's packages, fetched once into .cache/mariadb
// without root (apt-get download + dpkg-deb -x, with whatever shared libraries the machine lacks);
// where apt is missing, a MariaDB installed on the machine is used instead. Each run gets its own
// data folder, port and socket, and the server is shut down at the end, so the machine's own
// database, if it has one, is never touched, and the chaos test may restart this one at will.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { createConnection } from 'mysql2/promise'
import { freePort, REPO_ROOT } from './processes.ts'

/** Where a MariaDB installation lives: `prefix` holds bin/, sbin/, share/mysql and lib/mysql/plugin. */
export interface MariaDbInstallation {
  prefix: string
  /** Shared libraries fetched along with the server (LD_LIBRARY_PATH), empty for the machine's own. */
  libraryPath: string[]
  source: string
}

/** Everything needed to stop or restart a running server from another process (JSON in TEST_MARIADB). */
export interface MariaDbServer {
  url: string
  binary: string
  args: string[]
  env: Record<string, string>
  socket: string
  pidFile: string
  dataDir: string
  logFile: string
}

const CACHE = join(REPO_ROOT, '.cache/mariadb')
const PACKAGES = ['mariadb-server-core', 'mariadb-client-core']

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
function run (command: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options })
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? ''
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-8).join('\n')}`, { cause: error })
  }
}
const has = (command: string): boolean => { try { run('sh', ['-c', `command -v ${command}`]); return true } catch { return false } }

function libraryDirs (root: string): string[] {
  return ['usr/lib', 'lib'].flatMap((dir) => {
    const base = join(root, dir)
    if (!existsSync(base)) return []
    return [base, ...readdirSync(base).filter((d) => d.endsWith('-linux-gnu')).map((d) => join(base, d))]
  })
}

/** apt-get with the machine's package lists, or with lists of our own when the machine has none (fresh images). */
function aptGet (args: string[], cwd: string): string {
  try {
    return run('apt-get', args, { cwd })
  } catch {
    const lists = join(REPO_ROOT, '.cache/apt/lists')
    const archives = join(REPO_ROOT, '.cache/apt/archives')
    mkdirSync(join(lists, 'partial'), { recursive: true })
    mkdirSync(join(archives, 'partial'), { recursive: true })
    const own = ['-o', `Dir::State::Lists=${lists}`, '-o', `Dir::Cache::Archives=${archives}`, '-o', 'Debug::NoLocking=1']
    // A marker of our own: apt itself may leave a file named `lock` in a lists folder.
    const updated = join(lists, '.labclimate-updated')
    if (!existsSync(updated)) run('apt-get', [...own, '-qq', 'update'], { cwd })
    writeFileSync(updated, '')
    return run('apt-get', [...own, ...args], { cwd })
  }
}

/** Fetches the MariaDB server from Debian's packages into .cache/mariadb (once), no root needed. */
function fetchFromDebian (log: (line: string) => void): MariaDbInstallation {
  const root = join(CACHE, 'root')
  const marker = join(CACHE, 'packages.txt')
  if (!existsSync(marker)) {
    rmSync(CACHE, { recursive: true, force: true })
    const debs = join(CACHE, 'debs')
    mkdirSync(debs, { recursive: true })
    // What installing would add on this machine (its missing shared libraries), plus the server itself.
    const simulated = aptGet(['-s', '-qq', 'install', '--no-install-recommends', ...PACKAGES], debs)
    const missing = [...simulated.matchAll(/^Inst (\S+)/gm)].map((m) => m[1] ?? '').filter((p) => p !== '')
    const packages = [...new Set([...PACKAGES, ...missing])]
    log(`fetching ${packages.length} Debian packages for a private MariaDB: ${packages.join(' ')}`)
    aptGet(['-qq', 'download', ...packages], debs)
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, deb), root])
    rmSync(debs, { recursive: true, force: true })
    writeFileSync(marker, `${packages.join('\n')}\n`)
  }
  return { prefix: join(root, 'usr'), libraryPath: libraryDirs(root), source: 'Debian packages in .cache/mariadb' }
}

/** A MariaDB installed on the machine (Homebrew, a distribution package): its mariadbd and mariadb-install-db. */
function installedOnMachine (): MariaDbInstallation | undefined {
  for (const prefix of ['/usr', '/usr/local', '/opt/homebrew', '/opt/local']) {
    if (existsSync(join(prefix, 'bin/mariadb-install-db')) && (existsSync(join(prefix, 'sbin/mariadbd')) || existsSync(join(prefix, 'bin/mariadbd')))) {
      return { prefix, libraryPath: [], source: `the machine's MariaDB in ${prefix}` }
    }
  }
  return undefined
}

function findMariaDb (log: (line: string) => void): MariaDbInstallation {
  let fetchError: unknown
  if (has('apt-get') && has('dpkg-deb')) {
    try { return fetchFromDebian(log) } catch (error) { fetchError = error }
  }
  const installed = installedOnMachine()
  if (installed !== undefined) return installed
  const why = fetchError instanceof Error ? `fetching it from Debian's packages failed: ${fetchError.message}` : 'apt-get is not available to fetch it'
  throw new Error(`no MariaDB server for the tests: ${why}. Install MariaDB, or point TEST_DATABASE_URL at a MySQL/MariaDB server ` +
    'where the user may create labclimate_* databases (.ci/setup-mysql.sql).')
}

async function rootQuery (server: Pick<MariaDbServer, 'socket'>, statements: string): Promise<void> {
  const connection = await createConnection({ socketPath: server.socket, user: 'root', multipleStatements: true })
  try { await connection.query(statements) } finally { await connection.end() }
}

async function alive (server: Pick<MariaDbServer, 'socket'>): Promise<boolean> {
  try { await rootQuery(server, 'SELECT 1'); return true } catch { return false }
}

function launch (server: MariaDbServer): void {
  const child = spawn(server.binary, server.args, { env: { ...server.env, PATH: process.env.PATH ?? '' }, stdio: 'ignore', detached: true })
  child.unref()
}

async function waitUntil (what: string, check: () => Promise<boolean>, server: MariaDbServer, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      const tail = existsSync(server.logFile) ? readFileSync(server.logFile, 'utf8').split('\n').slice(-15).join('\n') : '(no log)'
      throw new Error(`MariaDB ${what} within ${timeoutMs} ms; the last lines of ${server.logFile}:\n${tail}`)
    }
    await sleep(100)
  }
}

/** Creates a data folder, starts the server on a free port and creates the suite's user (.ci/setup-mysql.sql). */
async function startMariaDb (installation: MariaDbInstallation, extraArgs: string[] = []): Promise<MariaDbServer> {
  const { prefix } = installation
  const dataDir = await mkdtemp(join(tmpdir(), 'labclimate-mariadb-'))
  const env: Record<string, string> = installation.libraryPath.length > 0 ? { LD_LIBRARY_PATH: installation.libraryPath.join(delimiter) } : {}
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : []
  run(join(prefix, 'bin/mariadb-install-db'), [
    '--no-defaults', `--basedir=${prefix}`, `--datadir=${join(dataDir, 'data')}`, '--skip-test-db', '--skip-name-resolve',
    // --force: no host name lookup (resolveip), which fails where /etc/hosts does not name this host
    '--force',
    // root with an empty password over the private socket, whoever runs the tests (socket auth maps OS users)
    '--auth-root-authentication-method=normal', ...asRoot
  ], { cwd: dataDir, env: { ...env, PATH: process.env.PATH ?? '' } })
  const port = await freePort()
  const binary = existsSync(join(prefix, 'sbin/mariadbd')) ? join(prefix, 'sbin/mariadbd') : join(prefix, 'bin/mariadbd')
  const server: MariaDbServer = {
    url: `mysql://labclimate:labclimate@127.0.0.1:${port}/labclimate`,
    binary,
    // The settings that matter are those of the machine's Debian server and of Aurora MySQL 3: utf8mb4, no DNS.
    args: [
      '--no-defaults', `--basedir=${prefix}`, `--lc-messages-dir=${join(prefix, 'share/mysql')}`, `--plugin-dir=${join(prefix, 'lib/mysql/plugin')}`,
      `--datadir=${join(dataDir, 'data')}`, `--socket=${join(dataDir, 'mysqld.sock')}`, `--pid-file=${join(dataDir, 'mysqld.pid')}`,
      `--log-error=${join(dataDir, 'server.log')}`, '--bind-address=127.0.0.1', `--port=${port}`, '--skip-name-resolve',
      '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci', ...asRoot, ...extraArgs
    ],
    env,
    socket: join(dataDir, 'mysqld.sock'),
    pidFile: join(dataDir, 'mysqld.pid'),
    dataDir,
    logFile: join(dataDir, 'server.log')
  }
  launch(server)
  await waitUntil('did not start', async () => await alive(server), server)
  await rootQuery(server, readFileSync(join(REPO_ROOT, '.ci/setup-mysql.sql'), 'utf8'))
  return server
}

function serverPid (server: MariaDbServer): number | undefined {
  try { return Number(readFileSync(server.pidFile, 'utf8').trim()) } catch { return undefined }
}

function running (pid: number | undefined): boolean {
  if (pid === undefined) return false
  try { process.kill(pid, 0); return true } catch { return false }
}

/** SIGTERM is MariaDB's clean shutdown; waits until the process is gone. */
async function shutdownMariaDb (server: MariaDbServer): Promise<void> {
  const pid = serverPid(server)
  if (!running(pid)) return
  process.kill(pid as number, 'SIGTERM')
  await waitUntil('did not shut down', async () => !running(pid), server)
}

/** Stops the server, keeps it down for `downMs`, starts it again on the same port and data; the milliseconds it was unavailable. */
export async function restartMariaDb (server: MariaDbServer, { downMs = 0 } = {}): Promise<number> {
  const started = Date.now()
  await shutdownMariaDb(server)
  await sleep(downMs)
  launch(server)
  await waitUntil('did not come back', async () => await alive(server), server)
  return Date.now() - started
}

async function stopMariaDb (server: MariaDbServer): Promise<void> {
  await shutdownMariaDb(server)
  rmSync(server.dataDir, { recursive: true, force: true })
}

export interface SuiteServer {
  url: string
  /** The private server, when one was started (undefined when `ownUrl` named a server). */
  server: MariaDbServer | undefined
  stop: () => Promise<void>
}

/** The server a test run or a benchmark uses: the one at `ownUrl` (TEST_DATABASE_URL), or a private one started now. */
export async function suiteServer (ownUrl: string | undefined, log: (line: string) => void): Promise<SuiteServer> {
  if (ownUrl !== undefined) return { url: ownUrl, server: undefined, stop: async () => {} }
  const installation = findMariaDb(log)
  const server = await startMariaDb(installation)
  log(`private MariaDB (${installation.source}) at ${server.url}, data in ${server.dataDir}`)
  return { url: server.url, server, stop: async () => { await stopMariaDb(server) } }
}

/**
 * A second private server with settings of its own (e.g. another default isolation level, TLS), for the
 * one test that needs them; the suite's server is shared by test files running at once and stays as it is.
 */
export async function startExtraMariaDb (extraArgs: string[], log: (line: string) => void = () => {}): Promise<{ url: string, stop: () => Promise<void> }> {
  const server = await startMariaDb(findMariaDb(log), extraArgs)
  return { url: server.url, stop: async () => { await stopMariaDb(server) } }
}
