#!/bin/sh
# make-config.sh AGENT OUT - the production configuration template installed
# as /etc/rdm-agent/rdm-agent.ini: `rdm-agent config defaults` (every key,
# commented, with its meaning) with the packaged service's settings made
# explicit: emulation off, state and inbox under /var/lib/rdm-agent.
set -eu
"$1" config defaults | sed \
    -e 's|^# ENABLE_REQUEST_EMULATION = True$|ENABLE_REQUEST_EMULATION = False|' \
    -e 's|^# DATA_DIR = data$|DATA_DIR = /var/lib/rdm-agent|' \
    -e 's|^# DUMP_DIR = inbox$|DUMP_DIR = /var/lib/rdm-agent/inbox|' >"$2.tmp"
for k in 'ENABLE_REQUEST_EMULATION = False' 'DATA_DIR = /var/lib/rdm-agent' \
    'DUMP_DIR = /var/lib/rdm-agent/inbox'; do
    grep -qx "$k" "$2.tmp" || { echo "make-config.sh: '$k' not set (config defaults changed?)" >&2; exit 1; }
done
mv "$2.tmp" "$2"
