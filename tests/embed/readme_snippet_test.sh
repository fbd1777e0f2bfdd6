#!/usr/bin/env bash
# The README's embedding snippet runs as printed: the first ```cpp block under
# "## Embedding the library" in README.md is examples/embed/main.cpp byte for
# byte, and that program, built, prints the two outcomes it announces.
# Usage: readme_snippet_test.sh SOURCE_DIR PATH/TO/useradmin-embed-example
set -euo pipefail
src=$1 example=$2
snippet=$(awk '/^## Embedding the library/ {section = 1; next}
               section && /^```cpp$/ {inside = 1; next}
               inside && /^```$/ {exit}
               inside {print}' "$src/README.md")
[ -n "$snippet" ] || { echo "no cpp block under '## Embedding the library' in README.md"; exit 1; }
diff <(printf '%s\n' "$snippet") "$src/examples/embed/main.cpp" ||
  { echo "README.md's embedding snippet differs from examples/embed/main.cpp"; exit 1; }
out=$("$example")
expected="reactivated usr_123456789: active, version 2
suspended org_c1 and 2 users"
[ "$out" = "$expected" ] || { printf 'the example printed:\n%s\nexpected:\n%s\n' "$out" "$expected"; exit 1; }
echo "readme snippet: ok"
