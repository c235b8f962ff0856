#!/bin/sh
# make-config.sh IN OUT linux|windows - the production configuration
# template: conf/rdm-agent.ini (which is `rdm-agent config defaults`: every
# key, commented, with its meaning; test_cli checks they are the same) with
# the installed service's settings made explicit: emulation off; on Linux
# state and inbox under /var/lib/rdm-agent (logs go to the journal); on
# Windows data, inbox and a log file beside the configuration in
# %ProgramData%\rdm-agent; portable (a USB stick): all of it, and the CA
# bundle, beside the binary.
set -eu
in=$1 out=$2 os=$3
case $os in
linux) set -- 'ENABLE_REQUEST_EMULATION = False' 'DATA_DIR = /var/lib/rdm-agent' \
    'DUMP_DIR = /var/lib/rdm-agent/inbox' ;;
windows) set -- 'ENABLE_REQUEST_EMULATION = False' 'DATA_DIR = data' 'DUMP_DIR = inbox' \
    'LOG_FILE = log\rdm-agent.log' ;;
portable | windows-portable) set -- 'ENABLE_REQUEST_EMULATION = False' 'DATA_DIR = data' \
    'DUMP_DIR = inbox' 'LOG_FILE = rdm-agent.log' 'CA_FILE = ca-bundle.pem' ;;
*) echo "make-config.sh: linux, windows, portable or windows-portable, not $os" >&2; exit 2 ;;
esac
cp "$in" "$out.tmp"
for kv in "$@"; do
    k=${kv%% =*}
    # uncomment the key's line with the new value (sed's replacement escapes \ and |)
    v=$(printf '%s' "$kv" | sed 's/[\\|&]/\\&/g')
    sed -i "s|^# $k =.*\$|$v|" "$out.tmp"
    grep -qxF "$kv" "$out.tmp" || { echo "make-config.sh: $k not found in $in" >&2; exit 1; }
done
case $os in windows*) sed -i 's/$/\r/' "$out.tmp" ;; esac
mv "$out.tmp" "$out"
