// Loaded (node --import) into the API and the worker that `pnpm dev` starts: they end when the launcher ends,
// however it ends. The launcher holds their SQS server, so without it they could only log connection errors
// forever and keep the port. Its IPC channel closes when it exits, even on SIGKILL: that is the signal.
if (process.send !== undefined) {
  // The channel must not keep an app alive by itself once it has stopped.
  process.channel?.unref()
  process.once('disconnect', () => {
    process.kill(process.pid, 'SIGTERM')
    // Its own graceful stop first; should that wait on the vanished SQS server, it still ends.
    setTimeout(() => { process.exit(1) }, 10_000).unref()
  })
}
