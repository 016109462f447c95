#!/usr/bin/env bash
# Run the whole test suite, slow tests included, as CI does (under 15 minutes on two CPU cores).
# Extra args go to pytest, e.g. the fast development subset: scripts/test.sh -m "not slow"
# Two pytest-xdist workers, one per core, each given whole test files (--dist loadfile: a
# module's fixtures, such as its server or its Ray, start once); -n 0 runs it in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then :; else
  # Browser tests need Debian's chromium; install it when we are root and apt is there.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
fi
# The accessibility check injects axe-core (pinned in tests/a11y) into the playground.
if command -v npm >/dev/null && [ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]; then
  npm ci --prefix tests/a11y --silent >/dev/null 2>&1 || true
fi
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
