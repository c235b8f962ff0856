#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds,
# and runs the agent's whole cycle on the shipped configuration and sample
# data, in build/demo (made afresh each time):
#   init, config check, the sample bundle (conf/sample) dropped into the
#   inbox, then `rdm-agent transfer`: inbox import, collect, export, upload
#   to the local datamart emulator (rdm-datamart-emulator, started on a
#   loopback port for the occasion and stopped afterwards), one status
#   check; then check-status until every status is final, and the registry
#   (`stages`), `status` and the HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null

bin=$PWD/build/release
sample=$PWD/conf/sample
work=$PWD/build/demo
rm -rf "$work"
mkdir -p "$work/inbox"
cp conf/rdm-agent.ini "$work/rdm-agent.ini"
cd "$work"
export RDM_GENERAL_EXPORT_ENTITY_ID_PREFIX=DEMO # an installation's prefix, from the environment
agent() { "$bin/rdm-agent" --config rdm-agent.ini "$@"; }

# the datamart: the local emulator on a free loopback port
"$bin/rdm-datamart-emulator" --state emulator.state --port-file emulator.port --profile core \
  --prefix DEMO --step-ms 700 2>emulator.log &
emu=$!
trap 'kill $emu 2>/dev/null; wait $emu 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s emulator.port ] && break; sleep 0.05; done
export RDM_UPLOADER_CLIENT_URL=http://127.0.0.1:$(cat emulator.port)
export RDM_UPLOADER_CLIENT_ENABLE_REQUEST_EMULATION=False
export RDM_SOURCE_INBOX_SETTLE_SECONDS=0

echo "== rdm-agent version"; agent version
echo "== rdm-agent init"; agent init
echo "== rdm-agent config check"; agent config check
echo "== the sample bundle arrives in the inbox ([source] DUMP_DIR)"
cp -r "$sample" inbox/.sample && mv inbox/.sample inbox/sample && ls inbox/sample
echo "== rdm-agent transfer (datamart: rdm-datamart-emulator on $RDM_UPLOADER_CLIENT_URL)"
agent transfer
echo "== rdm-agent check-status --force, until every status is final"
for _ in $(seq 20); do
  out=$(agent check-status --force)
  echo "$out"
  echo "$out" | grep -q " 0 in progress" && break
  sleep 1
done
echo "== rdm-agent stages"; agent stages
echo "== rdm-agent journal --limit 6"; agent journal --limit 6
echo "== what the emulator accepted (table, operation, rows, ФЛК ok)"; cut -f3-6 emulator.state
echo "== rdm-agent report --html report.html"; agent report --html report.html
echo "== rdm-agent status"; agent status
