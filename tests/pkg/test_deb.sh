#!/usr/bin/env bash
# test_deb.sh SOURCE_DIR BUILD_DIR - the Linux packages end to end on this
# machine (it must be root: the package is really installed, then purged):
# a release build, `cpack -G DEB` and `-G RPM`, lintian (errors fail),
# the unit checked by systemd-analyze, dpkg -i, the service user, rights on
# the configuration, `rdm-agent version`, `config check` and `init` as the
# service user, a reinstall keeping a local edit of the conffile and
# migrating the store, dpkg -r keeping configuration and state, dpkg --purge
# removing them and the user. Prints "N passed, N failed".
set -u
SRC=$1 B=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
[ "$(id -u)" = 0 ] || { echo "test_deb.sh installs a package: run it as root"; exit 1; }
if dpkg -s rdm-agent >/dev/null 2>&1; then
    echo "test_deb.sh: rdm-agent is installed on this machine already; not touching it"; exit 1
fi

t0=$(date +%s)
cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DRDM_TESTS=OFF \
    >"$B.log" 2>&1 && cmake --build "$B" -j"$(nproc)" >>"$B.log" 2>&1 || { cat "$B.log"; exit 1; }
(cd "$B" && cpack -G DEB >>"$B.log" 2>&1 && cpack -G RPM >>"$B.log" 2>&1) || { tail -30 "$B.log"; exit 1; }
DEB=$(ls "$B"/rdm-agent_*.deb) RPM=$(ls "$B"/rdm-agent-*.rpm)
echo "packages built in $(($(date +%s) - t0)) s: $(basename "$DEB") $(du -k "$DEB" | cut -f1) KiB, $(basename "$RPM")"

# what the package holds
dpkg-deb -c "$DEB" >"$B/contents"
for f in ./usr/bin/rdm-agent ./usr/bin/rdm-datamart-emulator ./etc/rdm-agent/rdm-agent.ini \
    ./usr/lib/systemd/system/rdm-agent.service ./usr/share/man/man1/rdm-agent.1.gz \
    ./usr/share/rdm-agent/profiles/core.json ./usr/share/doc/rdm-agent/copyright; do
    grep -q " $f\$" "$B/contents" && ok || bad "the .deb lacks $f"
done
dpkg-deb -I "$DEB" conffiles | grep -qx /etc/rdm-agent/rdm-agent.ini && ok || bad "the configuration is not a conffile"
dpkg-deb -f "$DEB" Depends | grep -q "libcurl4" && ok || bad "Depends: $(dpkg-deb -f "$DEB" Depends)"
rpm -qpl "$RPM" 2>/dev/null | grep -qx /usr/bin/rdm-agent && ok || bad "the .rpm lacks /usr/bin/rdm-agent"
rpm -qp --scripts "$RPM" 2>/dev/null | grep -q "useradd\|adduser" && ok || bad "the .rpm has no scripts"
rpm -qp --configfiles "$RPM" 2>/dev/null | grep -qx /etc/rdm-agent/rdm-agent.ini && ok || bad "rpm: configuration not %config"
# each rpm scriptlet is valid sh (they once lost their 'then': a CMake list
# split them at ';'), and rpm -e (count 0) removes, never purges the state
for f in "$B"/packaging/rpm/post.sh "$B"/packaging/rpm/preun.sh "$B"/packaging/rpm/postun.sh; do
    sh -n "$f" && ok || bad "rpm scriptlet $(basename "$f") is not valid sh"
done
grep -q "purge" "$B/packaging/rpm/postun.sh" && ! grep -q "set -- purge" "$B/packaging/rpm/postun.sh" && ok ||
    bad "rpm -e would purge the state"
rpm -qp --scripts "$RPM" 2>/dev/null | grep -q 'then set -- configure 1' && ok || bad "the .rpm's %post lacks its mapping"

# lintian: errors fail the test; warnings are printed to be weighed
if lintian --no-tag-display-limit "$DEB" >"$B/lintian" 2>&1; then ok; else
    grep -q "^E:" "$B/lintian" && bad "lintian errors: $(grep '^E:' "$B/lintian")" || ok
fi
grep "^W:" "$B/lintian" | sed 's/^/lintian: /' | head -20

# install
dpkg -i "$DEB" >"$B/dpkg.log" 2>&1 && ok || { bad "dpkg -i: $(cat "$B/dpkg.log")"; }
getent passwd rdm-agent >/dev/null && ok || bad "no user rdm-agent"
[ "$(stat -c '%U:%G %a' /etc/rdm-agent/rdm-agent.ini)" = "root:rdm-agent 640" ] && ok || bad "configuration rights: $(stat -c '%U:%G %a' /etc/rdm-agent/rdm-agent.ini)"
[ "$(stat -c '%U %a' /var/lib/rdm-agent)" = "rdm-agent 750" ] && ok || bad "state folder: $(stat -c '%U %a' /var/lib/rdm-agent)"
grep -qx "ENABLE_REQUEST_EMULATION = False" /etc/rdm-agent/rdm-agent.ini && ok || bad "emulation is not off in the template"
as() { runuser -u rdm-agent -- "$@"; }
as /usr/bin/rdm-agent --config /etc/rdm-agent/rdm-agent.ini version >"$B/out" 2>&1 && ok || bad "version as the service user: $(cat "$B/out")"
as /usr/bin/rdm-agent --config /etc/rdm-agent/rdm-agent.ini config check >"$B/out" 2>&1 && ok || bad "config check as the service user: $(cat "$B/out")"
grep -q "DATA_DIR.*= /var/lib/rdm-agent" "$B/out" && ok || bad "config check: DATA_DIR"
as /usr/bin/rdm-agent --config /etc/rdm-agent/rdm-agent.ini init >"$B/out" 2>&1 && ok || bad "init as the service user: $(cat "$B/out")"
[ "$(stat -c %U /var/lib/rdm-agent/rdm-agent.db)" = rdm-agent ] && ok || bad "store not owned by rdm-agent"
/usr/bin/rdm-agent help | grep -q "transfer" && ok || bad "help"
# the unit as systemd reads it (installed, so its ExecStart and man page exist)
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /usr/lib/systemd/system/rdm-agent.service >"$B/verify" 2>&1
    [ ! -s "$B/verify" ] && ok || bad "systemd-analyze verify: $(cat "$B/verify")"
fi
man -w rdm-agent >/dev/null 2>&1 || [ -f /usr/share/man/man1/rdm-agent.1.gz ] && ok || bad "no man page"

# upgrade (a reinstall): a local edit of the conffile stays, the store is migrated
echo "# edited by the administrator" >>/etc/rdm-agent/rdm-agent.ini
as sqlite3 /var/lib/rdm-agent/rdm-agent.db "PRAGMA user_version" >"$B/v1" 2>/dev/null || true
dpkg -i "$DEB" >"$B/dpkg.log" 2>&1 && ok || bad "reinstall: $(cat "$B/dpkg.log")"
grep -q "edited by the administrator" /etc/rdm-agent/rdm-agent.ini && ok || bad "the upgrade lost a local edit"

# remove keeps configuration and state; purge removes them and the user
dpkg -r rdm-agent >"$B/dpkg.log" 2>&1 && ok || bad "dpkg -r: $(cat "$B/dpkg.log")"
[ ! -e /usr/bin/rdm-agent ] && [ -f /etc/rdm-agent/rdm-agent.ini ] && [ -f /var/lib/rdm-agent/rdm-agent.db ] && ok ||
    bad "after dpkg -r: binary, configuration and state are not as expected"
dpkg --purge rdm-agent >"$B/dpkg.log" 2>&1 && ok || bad "dpkg --purge: $(cat "$B/dpkg.log")"
[ ! -e /etc/rdm-agent ] && [ ! -e /var/lib/rdm-agent ] && ! getent passwd rdm-agent >/dev/null && ok ||
    bad "after purge: something remains"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
