/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. The default
 * ceiling is generous (60 s): on a loaded 2-core machine a condition that will hold may take a while, and a
 * passing test returns as soon as it does.
 */
export async function waitFor<T> (
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
  intervalMs = 50
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
