#!/usr/bin/env bash
# The newcomer's first five minutes, in CI: clone main fresh, then run the README's quick-start
# commands literally — the lines of the block between <!-- newcomer:start --> and
# <!-- newcomer:end --> — in order. `npm start` runs until the demo prints its last line (it keeps
# the gateway serving until Ctrl-C, so the script stops it then); every other command must exit 0.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/mcp-policy"
cd "$work/mcp-policy"
last_line='demo complete: the gateway keeps serving until Ctrl-C'

mapfile -t commands < <(sed -n '/<!-- newcomer:start -->/,/<!-- newcomer:end -->/p' README.md |
  grep -E '^npm ' | sed -E 's/[[:space:]]+#.*$//')
[ "${#commands[@]}" -ge 3 ] || { echo "newcomer: README quick start has no npm commands" >&2; exit 1; }

for command in "${commands[@]}"; do
  echo "newcomer\$ $command"
  if [ "$command" = "npm start" ]; then
    log="$work/start.log"
    setsid bash -c "$command" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 900); do
      grep -qxF "$last_line" "$log" && break
      kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "newcomer: npm start exited early" >&2; exit 1; }
      sleep 1
    done
    cat "$log"
    grep -qxF "$last_line" "$log" || { echo "newcomer: npm start never printed its last line" >&2; exit 1; }
    kill -INT -- "-$pid" 2>/dev/null || true
    wait "$pid" || true
  else
    bash -c "$command"
  fi
done
echo "newcomer: README quick start followed on a fresh clone: ok"
