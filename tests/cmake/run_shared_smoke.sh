#!/usr/bin/env bash
# Checks a BUILD_SHARED_LIBS=ON build (preset shared), cheaply: the server
# and the embedding example link the libuseradmin_*.so of the build and run
# (--version, the curl smoke test, the README's embedding snippet); then the
# shared install, next to a static one when STATIC_BUILD_DIR is given, serves
# find_package consumers as asked: shared with useradmin_SHARED_LIBS=ON,
# static by default.
# Usage: run_shared_smoke.sh SOURCE_DIR SHARED_BUILD_DIR [STATIC_BUILD_DIR]
set -euo pipefail
absolute() { (cd "$1" && pwd); }
src=$(absolute "$1") build=$(absolute "$2") static_build=${3:+$(absolute "$3")}
work="$build/shared-smoke"
rm -rf "$work" && mkdir -p "$work"
server="$build/examples/server/useradmin-server"
embed="$build/examples/embed/useradmin-embed-example"

links_shared() {  # links_shared BINARY: true when it loads libuseradmin_core.so
  ldd "$1" | grep -q 'libuseradmin_core\.so'
}
for binary in "$server" "$embed"; do
  links_shared "$binary" || { echo "$binary does not load libuseradmin_core.so:"; ldd "$binary"; exit 1; }
done
"$server" --version | grep -qx 'useradmin-server [0-9.]*'
bash "$src/tests/beast/smoke_test.sh" "$server"
bash "$src/tests/embed/readme_snippet_test.sh" "$src" "$embed"

# Installs side by side, then one consumer per variant.
cmake --install "$build" --prefix "$work/prefix" >/dev/null
[ -z "$static_build" ] || cmake --install "$static_build" --prefix "$work/prefix" >/dev/null
consumer() {  # consumer NAME [CMAKE_ARGS...]: builds and runs the consumer
  local dir="$work/$1"
  shift
  cmake -S "$src/tests/cmake/consumer" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DUSERADMIN_CONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH="$work/prefix" "$@" >"$dir.log" &&
    cmake --build "$dir" >>"$dir.log" || { cat "$dir.log"; exit 1; }
  [ "$("$dir/consumer" "$dir.db")" = reactivated ] || { echo "consumer $dir failed"; exit 1; }
}
consumer shared -Duseradmin_SHARED_LIBS=ON
links_shared "$work/shared/consumer" || { echo "useradmin_SHARED_LIBS=ON did not link shared"; exit 1; }
if [ -n "$static_build" ]; then
  consumer static
  if links_shared "$work/static/consumer"; then echo "the default did not pick the static install"; exit 1; fi
fi
echo "shared smoke: ok"
