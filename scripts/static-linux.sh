#!/usr/bin/env bash
# static-linux.sh - a fully static rdm-agent for Linux x86_64 (musl), for a
# USB stick: Nettle, mbed TLS, cJSON, libcsv, SQLite and libcurl (on mbed TLS) built
# with musl-gcc from Debian's source packages (fetched by
# scripts/win-deps.sh's deb-src list, cached in build/win-deps/src), then
# the agent (CSV dumps and bundles only: no libpq, no emulator). Output:
# build/static/rdm-agent, and build/rdm-agent-VERSION-linux-x86_64-portable.tar.gz
# (the binary, a configuration, the profiles, the portable marker and a CA
# bundle). Cached and idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
S=$ROOT/build/static-deps
PREFIX=$S/prefix
JOBS=$(nproc 2>/dev/null || echo 2)
mkdir -p "$PREFIX/lib" "$PREFIX/include"
for p in musl-tools musl-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
        SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends musl-tools musl-dev >/dev/null
        break; }
done
[ -f build/win-deps/src/.fetched ] && [ -n "$(find build/win-deps/src -maxdepth 1 -name 'nettle-[0-9]*')" ] ||
    bash scripts/win-deps.sh # fetches the sources (and builds Windows)
srcdir() { find "$ROOT/build/win-deps/src" -maxdepth 1 -type d -name "$1-[0-9]*" | sort | tail -1; }
TC=$ROOT/cmake/musl-static.cmake
stamp() { [ -f "$PREFIX/.$1" ]; }
done_() { touch "$PREFIX/.$1"; echo "static-deps: $1 built in $(($(date +%s) - t0)) s"; }
cm() { # source build cmake-args...
    local s=$1 b=$2; shift 2
    cmake -S "$s" -B "$b" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" -DBUILD_SHARED_LIBS=OFF "$@" >"$b.log" 2>&1 || { tail -30 "$b.log"; exit 1; }
    cmake --build "$b" -j"$JOBS" >>"$b.log" 2>&1 || { tail -30 "$b.log"; exit 1; }
    cmake --install "$b" >>"$b.log" 2>&1
}
export CC=musl-gcc
t0=$(date +%s)
stamp mbedtls || { cm "$(srcdir mbedtls)" "$S/b-mbedtls" -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF \
    -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON; done_ mbedtls; }
t0=$(date +%s)
if ! stamp nettle; then
    rm -rf "$S/b-nettle" && cp -r "$(srcdir nettle)" "$S/b-nettle" && rm -f "$S/b-nettle/desdata.stamp"
    (cd "$S/b-nettle" && ./configure --prefix="$PREFIX" --libdir="$PREFIX/lib" --enable-static \
        --disable-shared --disable-public-key --disable-documentation --disable-openssl \
        --enable-fat CC_FOR_BUILD=gcc >"$S/b-nettle.log" 2>&1 && make -j"$JOBS" >>"$S/b-nettle.log" 2>&1 &&
        make install >>"$S/b-nettle.log" 2>&1) || { tail -30 "$S/b-nettle.log"; echo "nettle failed"; exit 1; }
    done_ nettle
fi
t0=$(date +%s)
stamp cjson || { cm "$(srcdir cjson)" "$S/b-cjson" -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
    -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF; done_ cjson; }
t0=$(date +%s)
if ! stamp libcsv; then
    rm -rf "$S/b-libcsv" && cp -r "$(srcdir libcsv)" "$S/b-libcsv"
    (cd "$S/b-libcsv" && { [ -x configure ] || autoreconf -fi >/dev/null 2>&1; } &&
        ./configure --prefix="$PREFIX" --enable-static --disable-shared >/dev/null &&
        make -j"$JOBS" >/dev/null && make install >/dev/null)
    done_ libcsv
fi
t0=$(date +%s)
if ! stamp sqlite; then
    # the amalgamation made for Windows is the same C file
    A=$ROOT/build/win-deps/b-sqlite
    musl-gcc -O2 -c "$A/sqlite3.c" -o "$S/sqlite3.o" -DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_STAT4 \
        -DSQLITE_OMIT_LOAD_EXTENSION
    ar rcs "$PREFIX/lib/libsqlite3.a" "$S/sqlite3.o"
    cp "$A/sqlite3.h" "$PREFIX/include/"
    done_ sqlite
fi
t0=$(date +%s)
if ! stamp curl; then
    cm "$(srcdir curl)" "$S/b-curl" -DCURL_USE_MBEDTLS=ON -DCURL_USE_OPENSSL=OFF \
        -DMBEDTLS_INCLUDE_DIRS="$PREFIX/include" -DMBEDTLS_LIBRARY="$PREFIX/lib/libmbedtls.a" \
        -DMBEDX509_LIBRARY="$PREFIX/lib/libmbedx509.a" -DMBEDCRYPTO_LIBRARY="$PREFIX/lib/libmbedcrypto.a" \
        -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON \
        -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBPSL=OFF -DUSE_LIBIDN2=OFF -DUSE_NGHTTP2=OFF \
        -DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DHTTP_ONLY=ON \
        -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none
    done_ curl
fi
B=$ROOT/build/static
cmake -S . -B "$B" -DCMAKE_TOOLCHAIN_FILE="$TC" -DCMAKE_BUILD_TYPE=Release -DRDM_WITH_POSTGRES=OFF \
    -DRDM_EMULATOR=OFF -DRDM_TESTS=OFF -DRDM_STATIC=ON >"$B.log" 2>&1 &&
    cmake --build "$B" -j"$JOBS" --target rdm-agent >>"$B.log" 2>&1 || { grep -E "error|Error" "$B.log" | head -20; exit 1; }
strip "$B/rdm-agent"
file "$B/rdm-agent"
# the portable folder: binary, configuration, profiles, marker, CA bundle
V=$(sed -n 's/^project(rdm-agent VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
P=$ROOT/build/rdm-agent-$V-linux-x86_64-portable
rm -rf "$P" && mkdir -p "$P/profiles"
cp "$B/rdm-agent" "$P/"
cp conf/profiles/*.json "$P/profiles/"
sh packaging/make-config.sh conf/rdm-agent.ini "$P/rdm-agent.ini" portable
touch "$P/rdm-agent.portable"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$P/ca-bundle.pem"
tar -C "$ROOT/build" -czf "$P.tar.gz" "$(basename "$P")"
echo "static-linux: $P.tar.gz ($(du -k "$P.tar.gz" | cut -f1) KiB)"
