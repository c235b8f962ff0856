#!/usr/bin/env bash
# win-deps.sh [PREFIX] - builds, for x86_64-w64-mingw32, static libraries of
# every dependency of rdm-agent from Debian's own source packages (nothing
# is downloaded from anywhere but Debian's archive): SQLite, cJSON, libcsv,
# Nettle (SHA-256; its x86-64 SHA-NI code chosen at run time), mbed TLS and
# libcurl (on mbed TLS: the same TLS code on every Windows
# version, no dependency on the system's Schannel; a CA bundle ships beside
# the .exe). libpq is not built: the Windows agent reads CSV dumps and USB
# bundles only (the README says so). cmocka is built for the unit tests.
#
# Idempotent and cached: each library is built once into PREFIX (default
# build/win-deps/prefix); a stamp file per library skips it next time.
# Installs the Debian packages it needs (mingw-w64, dpkg-dev, tcl, ...).
# Facts and timings: ../shared/notes/CROSS-BUILD.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
W=$ROOT/build/win-deps
PREFIX=${1:-$W/prefix}
HOST=x86_64-w64-mingw32
JOBS=$(nproc 2>/dev/null || echo 2)
mkdir -p "$W/src" "$PREFIX/lib" "$PREFIX/include"

need=()
for p in mingw-w64 dpkg-dev tcl cmake make autoconf automake libtool pkg-config m4; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# Debian's source packages, through a deb-src list of our own
LISTS=$W/apt-lists
if [ ! -f "$W/src/.fetched" ]; then
    mkdir -p "$LISTS/partial"
    sed -n '/^Types: deb$/,/^$/p' /etc/apt/sources.list.d/debian.sources | awk '
        /^Types:/ { print "Types: deb-src"; next }
        /^Suites:/ { print "Suites: bookworm"; next }
        { print }' | awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' >"$W/deb-src.sources"
    APT=(apt-get -o Dir::Etc::SourceList="$W/deb-src.sources" -o Dir::Etc::SourceParts=/nonexistent
         -o Dir::State::Lists="$LISTS")
    "${APT[@]}" update -q >/dev/null
    (cd "$W/src" && "${APT[@]}" source -q sqlite3 curl mbedtls nettle cjson libcsv cmocka >/dev/null 2>&1)
    touch "$W/src/.fetched"
fi
srcdir() { find "$W/src" -maxdepth 1 -type d -name "$1-[0-9]*" | sort | tail -1; }
# a source package added after the first fetch
fetch() {
    [ -n "$(srcdir "$1")" ] && return 0
    mkdir -p "$LISTS/partial"
    (cd "$W/src" && apt-get -o Dir::Etc::SourceList="$W/deb-src.sources" \
        -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$LISTS" source -q "$1" \
        >/dev/null 2>&1) || { echo "win-deps: cannot fetch the source package $1"; exit 1; }
}
fetch nettle

TC=$ROOT/cmake/mingw-w64.cmake
cm() { # source-dir build-dir cmake-args...
    local s=$1 b=$2; shift 2
    cmake -S "$s" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DBUILD_SHARED_LIBS=OFF "$@" >"$b.log" 2>&1 || { tail -30 "$b.log"; exit 1; }
    cmake --build "$b" -j"$JOBS" >>"$b.log" 2>&1 || { tail -30 "$b.log"; exit 1; }
    cmake --install "$b" >>"$b.log" 2>&1
}
stamp() { [ -f "$PREFIX/.$1" ]; }
done_() { touch "$PREFIX/.$1"; echo "win-deps: $1 built in $(($(date +%s) - t0)) s"; }

t0=$(date +%s)
if ! stamp mbedtls; then
    cm "$(srcdir mbedtls)" "$W/b-mbedtls" -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF \
        -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON
    done_ mbedtls
fi

t0=$(date +%s)
if ! stamp nettle; then
    # SHA-256 only: no public-key part (no GMP), a "fat" library that picks
    # the SHA-NI code when the processor has it
    # (desdata, a generator run at build time, is built for this machine:
    # the stamp shipped in the source would skip it)
    rm -rf "$W/b-nettle" && cp -r "$(srcdir nettle)" "$W/b-nettle" && rm -f "$W/b-nettle/desdata.stamp"
    (cd "$W/b-nettle" && ./configure --host=$HOST --prefix="$PREFIX" --enable-static \
        --disable-shared --disable-public-key --disable-documentation --disable-openssl \
        --enable-fat >"$W/b-nettle.log" 2>&1 && make -j"$JOBS" >>"$W/b-nettle.log" 2>&1 &&
        make install >>"$W/b-nettle.log" 2>&1) || { tail -30 "$W/b-nettle.log"; echo "nettle failed"; exit 1; }
    done_ nettle
fi

t0=$(date +%s)
if ! stamp cjson; then
    cm "$(srcdir cjson)" "$W/b-cjson" -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
        -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF
    done_ cjson
fi

t0=$(date +%s)
if ! stamp libcsv; then
    s=$(srcdir libcsv)
    rm -rf "$W/b-libcsv" && cp -r "$s" "$W/b-libcsv"
    (cd "$W/b-libcsv" && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } &&
        ./configure --host=$HOST --prefix="$PREFIX" --enable-static --disable-shared >/dev/null &&
        make -j"$JOBS" >/dev/null && make install >/dev/null) || { echo "libcsv failed"; exit 1; }
    done_ libcsv
fi

t0=$(date +%s)
if ! stamp sqlite; then
    s=$(srcdir sqlite3)
    rm -rf "$W/b-sqlite" && mkdir -p "$W/b-sqlite"
    # the amalgamation is made natively (it needs tclsh), then cross-compiled once
    (cd "$W/b-sqlite" && "$s/configure" >/dev/null 2>&1 && make sqlite3.c >/dev/null 2>&1) ||
        { echo "sqlite amalgamation failed"; exit 1; }
    $HOST-gcc -O2 -c "$W/b-sqlite/sqlite3.c" -o "$W/b-sqlite/sqlite3.o" -DSQLITE_THREADSAFE=1 \
        -DSQLITE_ENABLE_FTS5=0 -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1 -DSQLITE_ENABLE_STAT4
    $HOST-ar rcs "$PREFIX/lib/libsqlite3.a" "$W/b-sqlite/sqlite3.o"
    cp "$W/b-sqlite/sqlite3.h" "$W/b-sqlite/sqlite3ext.h" "$PREFIX/include/" 2>/dev/null ||
        cp "$W/b-sqlite/sqlite3.h" "$PREFIX/include/"
    done_ sqlite
fi

t0=$(date +%s)
if ! stamp curl; then
    cm "$(srcdir curl)" "$W/b-curl" -DCURL_USE_MBEDTLS=ON -DCURL_USE_OPENSSL=OFF \
        -DMBEDTLS_INCLUDE_DIRS="$PREFIX/include" \
        -DMBEDTLS_LIBRARY="$PREFIX/lib/libmbedtls.a" -DMBEDX509_LIBRARY="$PREFIX/lib/libmbedx509.a" \
        -DMBEDCRYPTO_LIBRARY="$PREFIX/lib/libmbedcrypto.a" \
        -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON \
        -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBPSL=OFF -DUSE_LIBIDN2=OFF -DUSE_NGHTTP2=OFF \
        -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DENABLE_UNIX_SOCKETS=OFF \
        -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DHTTP_ONLY=ON
    done_ curl
fi
t0=$(date +%s)
if ! stamp cmocka; then
    # cmocka: only for the unit tests run under wine (scripts/test-windows.sh)
    fetch cmocka
    cm "$(srcdir cmocka)" "$W/b-cmocka" -DWITH_STATIC_LIB=ON -DBUILD_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
        -DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF
    done_ cmocka
fi
echo "win-deps: ready in $PREFIX"
