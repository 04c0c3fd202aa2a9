#!/bin/bash
# Builds the live viewer into OUTDIR (index.html, app.js, app.css); Meson runs it (web/meson.build).
# npm dependencies are installed with `npm ci` from package-lock.json into OUTDIR/npm, once per
# lock change, so the source tree stays clean; esbuild bundles src/app.js with MQTT.js.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
deps="$out/npm"
mkdir -p "$deps"
if [[ ! -d $deps/node_modules || $src/package-lock.json -nt $deps/.installed ]]; then
  cp "$src/package.json" "$src/package-lock.json" "$deps/"
  (cd "$deps" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$deps/.installed"
fi
NODE_PATH="$deps/node_modules" "$deps/node_modules/.bin/esbuild" "$src/src/app.js" --bundle \
  --minify --sourcemap --target=es2020 --outfile="$out/app.js" --log-level=warning
cp "$src/src/index.html" "$out/"
# One stylesheet: the page's frame and theme variables first, then each module's (table.css, …).
shopt -s nullglob
modules=()
for f in "$src"/src/*.css; do [[ $f == */app.css ]] || modules+=("$f"); done
cat "$src/src/app.css" "${modules[@]}" > "$out/app.css"
