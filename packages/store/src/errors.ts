/** MySQL error numbers we act on. */
const ER_DUP_ENTRY = 1062
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_LOCK_DEADLOCK = 1213

function errno (error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'errno' in error && typeof error.errno === 'number' ? error.errno : undefined
}

// SQLite (node:sqlite) extended result codes for a primary-key or unique violation.
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555
const SQLITE_CONSTRAINT_UNIQUE = 2067

export const isDuplicateKey = (error: unknown): boolean => {
  if (errno(error) === ER_DUP_ENTRY) return true
  const code = typeof error === 'object' && error !== null && 'errcode' in error ? error.errcode : undefined
  return code === SQLITE_CONSTRAINT_PRIMARYKEY || code === SQLITE_CONSTRAINT_UNIQUE
}

// SQLite: another process holds the file's write lock longer than the busy timeout.
const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6

/** Errors after which the same transaction, run again, is expected to succeed. */
export const isTransientLockError = (error: unknown): boolean => {
  const n = errno(error)
  const sqlite = typeof error === 'object' && error !== null && 'errcode' in error ? error.errcode : undefined
  return n === ER_LOCK_DEADLOCK || n === ER_LOCK_WAIT_TIMEOUT || sqlite === SQLITE_BUSY || sqlite === SQLITE_LOCKED
}

export class StoreError extends Error {
  override name = 'StoreError'
}

/** Runs `work` again when InnoDB picked it as a deadlock victim or timed out on a lock. */
export async function retryOnLockConflict<T> (work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (!isTransientLockError(error) || attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30))
    }
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN',
  // TLS handshake failures (a certificate being rotated) and an IAM token that could not be signed
  'HANDSHAKE_SSL_ERROR', 'AUTH_SWITCH_PLUGIN_ERROR'
])
// 1053 server shutdown, 1927 connection killed, 2002/2003/2006/2013 cannot connect / gone away / lost, 1290 read-only (failover)
const CONNECTION_ERRNOS = new Set([1053, 1290, 1927, 2002, 2003, 2006, 2013])
/**
 * Logging in failed: 1045 access denied (a rotated password, an expired IAM token), 1040 too many connections,
 * 1129/1130 host blocked / not allowed, 1203 user over max_user_connections, 1251 auth plugin not supported,
 * 1698 no password for a plugin user, 3118 account locked, 1862 password expired. Or the account lacks a grant:
 * 1044 database, 1142 table, 1143 column, 1227 privilege (a table migrated before its grant, a user set up wrong).
 * No message is to blame for either: the batch must wait for good credentials, never walk to the DLQ.
 */
const AUTH_ERRNOS = new Set([1040, 1044, 1045, 1129, 1130, 1142, 1143, 1203, 1227, 1251, 1698, 1862, 3118])

/** The server refused the login, or the account's rights: see AUTH_ERRNOS. */
export function isAuthError (error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as { errno?: unknown, cause?: unknown }
  if (typeof e.errno === 'number' && AUTH_ERRNOS.has(e.errno)) return true
  return e.cause !== undefined && e.cause !== error && isAuthError(e.cause)
}

/** The database could not be reached, went away or refused the login: the same work should succeed once it is back. */
export function isConnectionError (error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as { code?: unknown, errno?: unknown, fatal?: unknown, cause?: unknown }
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true
  if (typeof e.errno === 'number' && (CONNECTION_ERRNOS.has(e.errno) || AUTH_ERRNOS.has(e.errno))) return true
  if (e.fatal === true) return true
  return e.cause !== undefined && e.cause !== error && isConnectionError(e.cause)
}
