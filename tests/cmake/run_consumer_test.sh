#!/usr/bin/env bash
# Builds tests/cmake/consumer against useradmin in one mode and runs it
# (find_package mode: also through the installed pkg-config files).
# Usage: run_consumer_test.sh find_package|add_subdirectory SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
mode=$1 src=$2 build=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
args=(-G Ninja -DCMAKE_BUILD_TYPE=Debug -DUSERADMIN_CONSUMER_MODE="$mode")
if [ "$mode" = find_package ]; then
  cmake --install "$build" --prefix "$work/prefix" >/dev/null
  args+=(-DCMAKE_PREFIX_PATH="$work/prefix")
else
  args+=(-DUSERADMIN_SOURCE_DIR="$src")
fi
cmake -S "$src/tests/cmake/consumer" -B "$work/build" "${args[@]}" >"$work/configure.log" ||
  { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" -j 2 >"$work/build.log" || { cat "$work/build.log"; exit 1; }
out=$("$work/build/consumer" "$work/consumer.db")
[ "$out" = reactivated ] || { echo "consumer printed: $out"; exit 1; }
echo "consumer ($mode): ok"

# find_package mode also builds the same program with pkg-config alone
# (--static: the installed libraries are archives, so their private
# dependencies are needed on the link line).
if [ "$mode" = find_package ]; then
  pc=$(find "$work/prefix" -name useradmin.pc)
  [ -n "$pc" ] || { echo "no useradmin.pc installed"; exit 1; }
  export PKG_CONFIG_PATH="$(dirname "$pc")"
  pkg-config --exists --print-errors useradmin
  flags=$(pkg-config --static --cflags --libs useradmin-sqlite useradmin-jwt)
  # shellcheck disable=SC2086  # flags are words
  "${CXX:-c++}" -std=c++17 "$src/tests/cmake/consumer/main.cpp" -o "$work/consumer-pc" $flags
  out=$("$work/consumer-pc" "$work/consumer-pc.db")
  [ "$out" = reactivated ] || { echo "pkg-config consumer printed: $out"; exit 1; }
  echo "consumer (pkg-config $(pkg-config --modversion useradmin)): ok"
fi
