#!/usr/bin/env bash
# Runs every test of the platform on SQLite and PostgreSQL.
# Installs Debian's PostgreSQL server first when it is missing (tests start their own throwaway server).
set -euo pipefail
cd "$(dirname "$0")"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL server binaries not found; installing Debian's postgresql package..."
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  echo "DejaVu fonts (embedded in PDF reports) not found; installing Debian's fonts-dejavu-core package..."
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null
fi

if ! /usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1; then
  echo "aiosmtpd not found; installing Debian's python3-aiosmtpd (local SMTP server for the e-mail action tests)..."
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-aiosmtpd >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium not found; installing Debian's chromium package (the web UI's browser tests drive it headless)..."
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build McpSecurity.sln -c Debug -v quiet -nologo
dotnet test --solution McpSecurity.sln --no-build "$@"
