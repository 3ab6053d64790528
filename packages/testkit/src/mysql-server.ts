// A throwaway real MySQL server for the MySQL leg of `pnpm test`: production is Aurora MySQL 3 (MySQL 8.0)
// and the suite's own server is MariaDB, a different engine. Debian 12 ships no MySQL, so the server is
// Debian unstable's mysql-server-core in a podman container (containers.ts), with host
// networking on a free loopback port and its data on a tmpfs: nothing outlives the run.
import { createConnection } from 'mysql2/promise'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { mysqlImage, podman } from './containers.ts'
import { freePort, REPO_ROOT } from './processes.ts'

export interface MySqlServer {
  url: string
  /** e.g. "MySQL 9.7.0" */
  version: string
  stop: () => Promise<void>
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

/** Starts MySQL on a free port with the suite's user (.ci/setup-mysql.sql); `stop` removes the container. */
export async function startMySql (log: (line: string) => void = () => {}): Promise<MySqlServer> {
  const image = await mysqlImage(log)
  const port = await freePort()
  const name = `labclimate-mysql-${port}`
  const socket = '/run/mysqld/mysqld.sock'
  // The settings of Aurora MySQL 3 that matter here are the engine's defaults (utf8mb4, utf8mb4_0900_ai_ci).
  // --timeout below: a server left behind by a killed run ends on its own after two hours.
  // No binary log (Aurora's default is off; it also makes the tests slower), no X protocol, loopback only.
  const server = [
    'mysqld', '--user=root', '--datadir=/data', `--port=${port}`, '--bind-address=127.0.0.1', '--mysqlx=OFF',
    '--secure-file-priv=', '--skip-name-resolve', '--disable-log-bin', `--socket=${socket}`, '--log-error=/data/server.log'
  ]
  const script = 'mkdir -p /run/mysqld && mysqld --initialize-insecure --user=root --datadir=/data --log-error=/tmp/init.log && ' +
    `exec ${server.map((a) => `'${a}'`).join(' ')}`
  await podman([
    'run', '-d', '--rm', '--name', name, '--network', 'host', '--tmpfs', '/data:rw,size=4g',
    '--stop-timeout', '20', '--timeout', '7200', image, 'sh', '-c', script
  ])
  const stop = async (): Promise<void> => { await podman(['rm', '-f', '-t', '20', name]).catch(() => {}) }
  try {
    const deadline = Date.now() + 120_000
    // Root has no password over the socket inside the container; the suite's user comes from the same file CI uses.
    const setup = readFileSync(join(REPO_ROOT, '.ci/setup-mysql.sql'), 'utf8')
    for (;;) {
      try {
        await podman(['exec', '-i', name, 'mysql', `--socket=${socket}`, '-uroot', '-e', setup], { timeoutMs: 30_000 })
        break
      } catch (error) {
        if (Date.now() > deadline) {
          const logs = await podman(['exec', name, 'sh', '-c', 'tail -n 20 /tmp/init.log /data/server.log']).catch(() => '(no log)')
          throw new Error(`MySQL did not start within 120 s: ${String(error)}\n${logs}`)
        }
        await sleep(500)
      }
    }
    const url = `mysql://labclimate:labclimate@127.0.0.1:${port}/labclimate`
    const connection = await createConnection(url)
    const [rows] = await connection.query('SELECT VERSION() AS v')
    await connection.end()
    const version = `MySQL ${String((rows as Array<{ v: string }>)[0]?.v)}`
    return { url, version, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
