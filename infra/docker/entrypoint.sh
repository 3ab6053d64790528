#!/bin/sh
# Container entry point (run by tini as PID 1, so SIGTERM reaches node through `exec`).
# In ECS the database password comes from Secrets Manager as DB_PASSWORD (task definition `secrets`),
# never as plain environment; host, port, name and user are plain env. This assembles DATABASE_URL.
set -eu
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
  # Checked here, not only inside $(...): a failed substitution in an assignment would not stop the script.
  : "${DB_USER:?DB_USER is required with DB_HOST}" "${DB_PASSWORD:?DB_PASSWORD is required with DB_HOST}"
  : "${DB_NAME:?DB_NAME is required with DB_HOST}"
  enc () { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
  DATABASE_URL="mysql://$(enc "${DB_USER:?DB_USER is required with DB_HOST}"):$(
    enc "${DB_PASSWORD:?DB_PASSWORD is required with DB_HOST}")@${DB_HOST}:${DB_PORT:-3306}/${DB_NAME:?DB_NAME is required with DB_HOST}"
  export DATABASE_URL
  unset DB_PASSWORD
fi
exec "$@"
