#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds,
# and runs the agent's main job on the embedded default: shipped
# configuration, emulation on, nothing leaves the machine. The work
# directory is build/demo.
#
# What runs today: init (store created and checked), config check, import of
# the shipped sample bundle (conf/sample), collect (staged changes), export
# (ЕФТТ files under build/demo/data/export), upload in emulation (the
# shipped default: nothing leaves the machine), then the same sample sent
# (from a second store) over real HTTP on loopback to the local datamart emulator
# (rdm-datamart-emulator), their statuses polled, and the journal. The
# one-shot pipeline (`transfer`) is not built yet; the demo says so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null

agent=$PWD/build/release/rdm-agent
sample=$PWD/conf/sample
work=$PWD/build/demo
mkdir -p "$work"
cp conf/rdm-agent.ini "$work/rdm-agent.ini"
export RDM_GENERAL_EXPORT_ENTITY_ID_PREFIX=DEMO # an installation's prefix, from the environment
cd "$work"

echo "== rdm-agent version"; "$agent" version
echo "== rdm-agent init";    "$agent" --config rdm-agent.ini init
echo "== rdm-agent config check"; "$agent" --config rdm-agent.ini config check
echo "== rdm-agent import $sample"; "$agent" --config rdm-agent.ini import "$sample"
echo "== rdm-agent collect"; "$agent" --config rdm-agent.ini collect
echo "== rdm-agent export"; "$agent" --config rdm-agent.ini export
echo "== rdm-agent upload (emulation: ENABLE_REQUEST_EMULATION = True)"
"$agent" --config rdm-agent.ini upload

# the same files again, this time over HTTP to the local emulator
emulator=$PWD/../release/rdm-datamart-emulator
rm -rf emu && mkdir -p emu
"$emulator" --state emu/state --port-file emu/port --profile core --prefix DEMO \
  --step-ms 500 2>emu/log &
emu_pid=$!
trap 'kill $emu_pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s emu/port ] && break; sleep 0.05; done
export RDM_UPLOADER_CLIENT_URL=http://127.0.0.1:$(cat emu/port)
export RDM_UPLOADER_CLIENT_ENABLE_REQUEST_EMULATION=False
export RDM_AGENT_DATA_DIR=data-http
echo "== rdm-datamart-emulator on $RDM_UPLOADER_CLIENT_URL; a second store (data-http): import, collect, export, upload"
"$agent" --config rdm-agent.ini -q import "$sample"
"$agent" --config rdm-agent.ini -q collect
"$agent" --config rdm-agent.ini export
"$agent" --config rdm-agent.ini upload
sleep 2
echo "== rdm-agent check-status --force"; "$agent" --config rdm-agent.ini check-status --force
echo "== rdm-agent journal --limit 6"; "$agent" --config rdm-agent.ini journal --limit 6
echo "== what the emulator accepted (emu/state)"; cut -f3-6 emu/state
echo "== rdm-agent transfer"
set +e
"$agent" --config rdm-agent.ini transfer
rc=$?
set -e
if [ $rc -eq 2 ]; then
  echo "demo: transfer (collect, export, upload and status in one run) is not built yet; the demo stops here."
  exit 0
fi
exit $rc
