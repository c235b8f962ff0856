#!/usr/bin/env bash
# test-windows.sh - the Windows build and its checks under wine, headless:
# the dependencies from Debian's sources (scripts/win-deps.sh, cached), a
# static rdm-agent.exe (cmake/mingw-w64.cmake), then under wine: version,
# init, config check, import + collect + export of the shipped sample, and
# `transfer` over loopback HTTP to the Linux emulator, whose state must list
# every file; the unit tests (cmocka, cross-built) run through wine; then
# the setup program (NSIS) installed silently, the service it registered
# and started stopped cleanly, and everything uninstalled. Prints "N passed, N failed" and
# how long it took. Not part of scripts/test.sh (CI time): run it by hand.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$(date +%s)
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

need=()
for p in wine64 wine nsis mingw-w64; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
bash scripts/win-deps.sh || exit 1
B=$ROOT/build/win
cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64.cmake" -DCMAKE_BUILD_TYPE=Release \
    -DRDM_WERROR=ON -DRDM_TESTS=ON >"$B.log" 2>&1 && cmake --build "$B" -j"$(nproc)" >>"$B.log" 2>&1 ||
    { grep -E "error|Error" "$B.log" | head -30; exit 1; }
EXE=$B/rdm-agent.exe
echo "rdm-agent.exe: $(du -k "$EXE" | cut -f1) KiB, built in $(($(date +%s) - T0)) s"
x86_64-w64-mingw32-objdump -p "$EXE" | grep "DLL Name" | tr -d '\t' | sort -u >"$B/dlls"
grep -qiv "kernel32\|msvcrt\|ws2_32\|advapi32\|crypt32\|bcrypt\|user32\|winmm\|api-ms-win\|shell32\|ole32\|secur32\|iphlpapi\|normaliz\|wldap32\|rpcrt4" "$B/dlls" &&
    bad "rdm-agent.exe needs non-system DLLs: $(cat "$B/dlls")" || ok

export WINEPREFIX=$ROOT/build/wineprefix WINEDEBUG=-all
[ -d "$WINEPREFIX" ] || wineboot -i >/dev/null 2>&1
W="wine $EXE"
T=$(mktemp -d /tmp/rdm-win-XXXXXX)
trap 'kill $EPID 2>/dev/null; wineserver -k 2>/dev/null; rm -rf "$T"' EXIT
$W version >"$T/out" 2>&1 && grep -q "rdm-agent" "$T/out" && ok || bad "version: $(cat "$T/out")"

# the unit tests, as Windows programs (ctest runs them through wine)
t1=$(date +%s)
ctest --test-dir "$B" >"$T/ctest.out" 2>&1 && ok || bad "unit tests under wine: $(grep -A20 'tests passed' "$T/ctest.out")"
echo "unit tests under wine: $(grep 'tests passed' "$T/ctest.out"), $(($(date +%s) - t1)) s"

# the Linux emulator on loopback (the native build's: scripts/test.sh makes it)
[ -x "$ROOT/build/gcc/rdm-datamart-emulator" ] || { cmake -S . -B "$ROOT/build/gcc" >/dev/null &&
    cmake --build "$ROOT/build/gcc" -j"$(nproc)" >/dev/null; }
"$ROOT/build/gcc/rdm-datamart-emulator" --state "$T/emu.state" --port-file "$T/port" --profile core \
    --prefix WIN --step-ms 0 2>"$T/emu.log" &
EPID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
printf '[rdm_general]\r\nEXPORT_ENTITY_ID_PREFIX = WIN\r\n[agent]\r\nDATA_DIR = data\r\nLOG_LEVEL = warning\r\n[uploader_client]\r\nURL = http://127.0.0.1:%s\r\nENABLE_REQUEST_EMULATION = False\r\n' \
    "$(cat "$T/port")" >"$T/rdm-agent.ini"
cd "$T"
$W --config rdm-agent.ini init >out 2>&1 && ok || bad "init: $(cat out)"
$W --config rdm-agent.ini config check >out 2>&1 && ok || bad "config check: $(cat out)"
cp -r "$ROOT/conf/sample" sample
$W --config rdm-agent.ini import sample >out 2>&1 && ok || bad "import: $(cat out)"
$W --config rdm-agent.ini transfer >out 2>&1 && ok || bad "transfer: $(cat out)"
grep -q "upload: 4 file(s) sent" out && ok || bad "transfer output: $(cat out)"
[ "$(wc -l <"$T/emu.state")" = 4 ] && ok || bad "the emulator accepted $(wc -l <"$T/emu.state") file(s), want 4"
$W --config rdm-agent.ini stages >out 2>&1 && grep -q "Завершено" out && ok || bad "stages: $(cat out)"
$W --config rdm-agent.ini status >out 2>&1 && ok || bad "status: $(cat out)"
# service install with a relative --config registers it absolute (the
# service starts in System32, where rdm-agent.ini names nothing)
$W --config rdm-agent.ini service install >out 2>&1 && grep -q -- '--config "[A-Z]:\\.*rdm-agent.ini"' out && ok ||
    bad "service install, relative --config: $(cat out)"
$W service uninstall >/dev/null 2>&1
cd "$ROOT"

# the setup program, silently; the service registered by it; uninstalled
(cd "$B" && cpack -G NSIS >"$B/cpack.log" 2>&1 && cpack -G ZIP >>"$B/cpack.log" 2>&1) ||
    { bad "cpack: $(tail -5 "$B/cpack.log")"; }
SETUP=$(ls "$B"/rdm-agent-*-win64.exe 2>/dev/null | head -1)
if [ -n "$SETUP" ]; then
    echo "setup: $(basename "$SETUP") $(du -k "$SETUP" | cut -f1) KiB; zip: $(ls "$B"/*.zip | xargs -n1 basename)"
    wine "$SETUP" /S '/D=C:\rdm-agent-test' >/dev/null 2>&1
    wine 'C:\rdm-agent-test\bin\rdm-agent.exe' version >"$T/out" 2>&1 && ok || bad "installed exe: $(cat "$T/out")"
    PD=$WINEPREFIX/drive_c/ProgramData/rdm-agent
    [ -f "$PD/rdm-agent.ini" ] && grep -q "^ENABLE_REQUEST_EMULATION = False" "$PD/rdm-agent.ini" && ok ||
        bad "no configuration in ProgramData"
    [ -f "$PD/data/rdm-agent.db" ] && ok || bad "setup did not create the store"
    # setup registered and started the service; a stop request ends it cleanly
    wine 'C:\rdm-agent-test\bin\rdm-agent.exe' service status >"$T/out" 2>&1 && grep -q running "$T/out" && ok ||
        bad "service status after setup: $(cat "$T/out")"
    t1=$(date +%s%N)
    wine 'C:\rdm-agent-test\bin\rdm-agent.exe' service stop >"$T/out" 2>&1 && ok || bad "service stop: $(cat "$T/out")"
    echo "service stop took $((($(date +%s%N) - t1) / 1000000)) ms"
    grep -q "run: stopped on request" "$PD/log/rdm-agent.log" && ok || bad "the service did not stop cleanly: $(tail -3 "$PD/log/rdm-agent.log")"
    wine 'C:\rdm-agent-test\bin\rdm-agent.exe' service status 2>&1 | grep -q stopped && ok || bad "service not stopped"
    wine 'C:\rdm-agent-test\Uninstall.exe' /S >/dev/null 2>&1; sleep 2
    [ ! -e "$WINEPREFIX/drive_c/rdm-agent-test/bin/rdm-agent.exe" ] && [ -f "$PD/rdm-agent.ini" ] && ok ||
        bad "uninstall: the program stays or the configuration went"
else
    bad "no setup program"
fi
# the portable zip (a USB stick): the .exe with its configuration, profiles,
# CA bundle and the portable marker; run from its folder, it keeps its data there
V=$(sed -n 's/^project(rdm-agent VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
P=$ROOT/build/rdm-agent-$V-windows-x86_64-portable
rm -rf "$P" && mkdir -p "$P/profiles"
cp "$EXE" "$P/" && x86_64-w64-mingw32-strip "$P/rdm-agent.exe"
cp conf/profiles/*.json "$P/profiles/"
sh packaging/make-config.sh conf/rdm-agent.ini "$P/rdm-agent.ini" windows-portable
printf 'rdm-agent keeps its configuration and data in this folder\r\n' >"$P/rdm-agent.portable"
cp /etc/ssl/certs/ca-certificates.crt "$P/ca-bundle.pem"
(cd "$ROOT/build" && rm -f "$(basename "$P").zip" &&
    python3 -c 'import shutil,sys; shutil.make_archive(sys.argv[1], "zip", ".", sys.argv[1])' "$(basename "$P")")
rm -rf "$T/stick" && mkdir -p "$T/stick" && (cd "$T/stick" && python3 -m zipfile -e "$P.zip" .)
SP=$T/stick/$(basename "$P")
(cd / && wine "$SP/rdm-agent.exe" init >"$T/out" 2>&1) && [ -f "$SP/data/rdm-agent.db" ] && ok ||
    bad "portable zip: init did not keep the store beside the .exe: $(cat "$T/out")"
echo "portable zip: $(basename "$P").zip $(du -k "$P.zip" | cut -f1) KiB"
# the same stick in a folder with a Russian name, and a dump folder with
# one: the manifest's UTF-8 code page (packaging/windows/utf8.manifest)
# makes the names reach the files as they are (with the ANSI code page,
# 1251 in Russia, they did not: the store was not found, land files went
# to a garbled folder)
RU="$T/Школа флешка"
mkdir -p "$RU" && cp -r "$SP" "$RU/rdm" && cp -r "$ROOT/conf/sample" "$RU/выгрузка 2026"
(cd / && wine "$RU/rdm/rdm-agent.exe" import "$(winepath -w "$RU/выгрузка 2026")" >"$T/out" 2>&1 &&
    wine "$RU/rdm/rdm-agent.exe" collect >>"$T/out" 2>&1 && wine "$RU/rdm/rdm-agent.exe" export >>"$T/out" 2>&1) &&
    [ -f "$RU/rdm/data/rdm-agent.db" ] && [ -n "$(ls "$RU/rdm/data/export")" ] && ok ||
    bad "a folder with a Russian name: $(cat "$T/out"; ls -R "$T" | head -20)"
[ "$(find "$T" -name '*Р*' | head -1)" = "" ] && ok || bad "a garbled folder: $(find "$T" -name '*Р*' | head -3)"
echo "$pass passed, $fail failed; $(($(date +%s) - T0)) s in all"
[ "$fail" = 0 ]
