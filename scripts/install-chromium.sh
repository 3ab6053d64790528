#!/bin/sh
# Installs Debian's Chromium for the dashboard browser test and the README screenshot (playwright-core drives
# /usr/bin/chromium; no browser download from anywhere else). Idempotent: does nothing when it is there.
set -eu
if [ -x /usr/bin/chromium ]; then
  echo "chromium is installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
  exit 0
fi
SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || true)"
