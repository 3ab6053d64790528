// What every MySQL connection of ours is set up with: REPEATABLE READ pinned, TLS verified (IAM tokens: iam-handshake.test.ts).
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql, type Kysely } from 'kysely'
import { createConnection } from 'mysql2/promise'
import t from 'tap'
import { startExtraMariaDb } from '@labclimate/testkit/mariadb-server'
import { connectDatabase, isConnectionError, mysqlPoolOptions, rdsCaBundle, type Database } from '../src/index.ts'

/** The session's isolation level, read with SQL both MySQL 8.0 (transaction_isolation) and MariaDB 10.11 (tx_isolation) take. */
async function isolation (db: Kysely<Database>, scope: 'SESSION' | 'GLOBAL' = 'SESSION'): Promise<string> {
  const { rows } = await sql<{ Value: string }>`SHOW ${sql.raw(scope)} VARIABLES WHERE Variable_name IN ('tx_isolation', 'transaction_isolation')`.execute(db)
  return rows[0]?.Value ?? '(none)'
}

t.test('TLS: the server certificate is verified against the RDS CA bundle', async (t) => {
  const options = mysqlPoolOptions({ url: 'mysql://labclimate_api@db.cluster-abc.eu-west-1.rds.amazonaws.com:3306/labclimate', tls: {} })
  const ssl = options.ssl as { ca: string[], rejectUnauthorized: boolean }
  t.equal(ssl.rejectUnauthorized, true, 'verified, never just encrypted')
  const subjects = ssl.ca.map((pem) => new X509Certificate(pem).subject)
  // The current RDS roots (rds-ca-rsa2048-g1 is the default for new clusters); checked here, not taken from the code.
  for (const region of ['eu-west-1', 'us-east-1']) {
    for (const kind of ['RSA2048', 'RSA4096', 'ECC384']) {
      t.ok(subjects.some((s) => s.includes(`CN=Amazon RDS ${region} Root CA ${kind} G1`)), `${region} ${kind} root in the bundle`)
    }
  }
  t.ok(ssl.ca.every((pem) => new X509Certificate(pem).ca), 'only CA certificates')
  t.same(rdsCaBundle(), ssl.ca)
  t.equal(mysqlPoolOptions({ url: 'mysql://u:p@127.0.0.1:3306/labclimate' }).ssl, undefined, 'no TLS unless asked (local MariaDB)')
})

t.test('on a server whose default is READ COMMITTED, with TLS: our connections run REPEATABLE READ and verify the certificate', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'labclimate-tls-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }) }
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=labclimate test CA')
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
  let server: Awaited<ReturnType<typeof startExtraMariaDb>>
  try {
    server = await startExtraMariaDb([
      '--transaction-isolation=READ-COMMITTED',
      `--ssl-ca=${join(dir, 'ca.pem')}`, `--ssl-cert=${join(dir, 'server.pem')}`, `--ssl-key=${join(dir, 'server.key')}`
    ])
  } catch (error) {
    // Only where no MariaDB can be had (no apt, none installed): say so rather than fail on the machine.
    if (!/no MariaDB server for the tests/.test(String(error))) throw error
    await t.test('TLS and isolation on a private server', { skip: String(error) }, () => {})
    return
  }
  t.teardown(server.stop)

  // The control: a plain connection gets the server's default, so the pin below is what makes the difference.
  const plain = await createConnection(server.url)
  const isolationQuery = "SHOW SESSION VARIABLES WHERE Variable_name IN ('tx_isolation', 'transaction_isolation')"
  const [[row]] = await plain.query(isolationQuery) as unknown as [[{ Value: string }]]
  t.equal(row.Value, 'READ-COMMITTED', 'the server default is READ COMMITTED')

  const db = connectDatabase({ url: server.url, poolSize: 3, tls: { caFile: join(dir, 'ca.pem') } })
  t.teardown(async () => { await db.destroy() })
  t.equal(await isolation(db, 'GLOBAL'), 'READ-COMMITTED')
  // Three connections held at once: each new one is pinned, not only the first.
  const levels = await db.connection().execute(async (a) => await db.connection().execute(async (b) => await db.connection().execute(async (c) =>
    await Promise.all([a, b, c].map(async (conn) => await isolation(conn))))))
  t.same(levels, ['REPEATABLE-READ', 'REPEATABLE-READ', 'REPEATABLE-READ'], 'every pool connection runs REPEATABLE READ')
  const { rows: [cipher] } = await sql<{ Value: string }>`SHOW SESSION STATUS LIKE 'Ssl_version'`.execute(db)
  t.match(cipher?.Value, /^TLSv1\.[23]$/, 'over TLS')

  // What the rollups rely on: inside a transaction, a row committed by someone else meanwhile is not seen.
  await sql`CREATE TABLE t_iso (id INT PRIMARY KEY)`.execute(db)
  const seen = await db.transaction().execute(async (trx) => {
    const before = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM t_iso`.execute(trx)
    await plain.query('INSERT INTO t_iso VALUES (1)')
    const after = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM t_iso`.execute(trx)
    return [Number(before.rows[0]?.n), Number(after.rows[0]?.n)]
  })
  t.same(seen, [0, 0], 'one snapshot per transaction (READ COMMITTED would see 0 then 1)')
  await plain.end()

  // Verification is on: the same server is refused when its certificate does not chain to the expected CA.
  const wrongCa = connectDatabase({ url: server.url, poolSize: 1, tls: {} })
  t.teardown(async () => { await wrongCa.destroy() })
  const tlsError = await sql`SELECT 1`.execute(wrongCa).then(() => undefined, (error: unknown) => error)
  t.match(String(tlsError), /certificate/i, 'a certificate outside the RDS bundle is refused')
  t.ok(isConnectionError(tlsError), 'and the worker would wait (a CA being rotated), not blame its batch')
  t.match(readFileSync(join(dir, 'ca.pem'), 'utf8'), /BEGIN CERTIFICATE/)
})
