#!/usr/bin/env bash
# Builds the server's .deb with `cpack -G DEB` and checks what it holds: the
# package name and version, a Depends line, the binary and the systemd unit
# (which systemd-analyze must accept without a warning).
# Usage: run_deb_package_test.sh BUILD_DIR WORK_DIR VERSION
set -euo pipefail
build=$1 work=$2 version=$3
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; exit 1; }
deb=$(find "$work" -maxdepth 1 -name 'useradmin-server_*.deb')
[ -n "$deb" ] || { echo "no useradmin-server_*.deb in $work"; ls "$work"; exit 1; }

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = useradmin-server ] || { echo "Package: $(field Package)"; exit 1; }
[ "$(field Version)" = "$version" ] || { echo "Version: $(field Version), want $version"; exit 1; }
[[ "$(field Depends)" == *libc6* ]] || { echo "Depends: $(field Depends)"; exit 1; }

contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for path in ./usr/bin/useradmin-server ./usr/lib/systemd/system/useradmin.service \
            ./usr/share/doc/useradmin-server/useradmin.env; do
  grep -qx -- "$path" <<<"$contents" || { echo "missing $path in $deb:"; echo "$contents"; exit 1; }
done
# Nothing for developers (headers, archives, CMake files) in the server package.
if grep -E '\.hpp$|\.a$|/cmake/' <<<"$contents"; then echo "development files in $deb"; exit 1; fi

# The packaged binary runs and knows its version.
dpkg-deb --extract "$deb" "$work/root"
out=$("$work/root/usr/bin/useradmin-server" --version)
[ "$out" = "useradmin-server $version" ] || { echo "--version printed: $out"; exit 1; }

# The unit parses without a single complaint (unknown keys are only warned
# about, so any output fails). Skipped where systemd is not installed.
if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=/usr/bin/|ExecStart=$work/root/usr/bin/|" \
    "$work/root/usr/lib/systemd/system/useradmin.service" >"$work/useradmin.service"
  complaints=$(systemd-analyze verify "$work/useradmin.service" 2>&1) || true
  [ -z "$complaints" ] || { echo "systemd-analyze verify: $complaints"; exit 1; }
else
  echo "systemd-analyze not installed: unit not verified"
fi
echo "deb ($(basename "$deb")): ok"
