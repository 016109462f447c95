#!/usr/bin/env bash
# Run the whole test suite (under 10 minutes on two CPU cores). Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; else
  # Browser tests need Debian's chromium; install it when we are root and apt is there.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
fi
exec .venv/bin/python -m pytest "$@"
