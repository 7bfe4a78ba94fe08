#!/usr/bin/env bash
# Copy the front-end assets the offline book needs into _vendor/ (gitignored).
#
#   bash scripts/vendor_assets.sh            # from the repository root
#
# Sources: npm packages pinned in package.json / package-lock.json (installed with `npm ci`
# when node_modules is missing or older than the lock file) and plotly.min.js from the
# installed plotly wheel, so that plotly.js matches the Python package that wrote the figures.
# _config.yml points Sphinx at these files (html_static_path, mathjax_path, nb_ipywidgets_js).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
OUT="$ROOT/_vendor"
NM="$ROOT/node_modules"

# npm writes node_modules/.package-lock.json on every install; if it is missing or older than
# package-lock.json the installed tree is stale.
if [[ ! -f "$NM/.package-lock.json" || "$ROOT/package-lock.json" -nt "$NM/.package-lock.json" ]]; then
  echo "vendor_assets: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

for f in "$NM/requirejs/require.js" \
         "$NM/@jupyter-widgets/html-manager/dist/embed-amd.js" \
         "$NM/anywidget/dist/index.js" \
         "$NM/mathjax/es5/tex-chtml.js"; do
  [[ -f "$f" ]] || { echo "vendor_assets: missing $f (run npm ci)" >&2; exit 1; }
done

PLOTLY_JS="$("$PYTHON" -c 'import pathlib, plotly; print(pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js")')"
[[ -f "$PLOTLY_JS" ]] || { echo "vendor_assets: $PLOTLY_JS not found (is plotly installed in $PYTHON?)" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/widgets" "$OUT/anywidget" "$OUT/mathjax/input" "$OUT/mathjax/output"

# require.js and the glue that maps widget modules to local paths (must load between
# require.js and embed-amd.js)
cp "$NM/requirejs/require.js" "$OUT/require.js"
cp "$ROOT/_vendor_src/widgets-local.js" "$OUT/widgets-local.js"

# @jupyter-widgets/html-manager: embed-amd.js (it defines libembed-amd inline, so that file is
# not needed) and the FontAwesome icon fonts its CSS names. Browsers that run the widgets pick
# woff2/woff/ttf; the legacy .eot/.svg fonts and the source maps are left out.
cp "$NM/@jupyter-widgets/html-manager/dist/embed-amd.js" "$OUT/widgets/"
find "$NM/@jupyter-widgets/html-manager/dist" -maxdepth 1 -type f \
  \( -name '*.woff2' -o -name '*.woff' -o -name '*.ttf' \) -exec cp {} "$OUT/widgets/" \;

# anywidget's AMD module (ipyniivue and other anywidgets use it)
cp "$NM/anywidget/dist/index.js" "$OUT/anywidget/index.js"

# MathJax 3, es5 build, trimmed to TeX input + CommonHTML output: the combined tex-chtml.js,
# the TeX extensions its autoloader pulls in, the CHTML woff2 fonts, and the menu/a11y
# components it may load on demand. No SVG/MathML outputs or speech-rule engine (sre).
MJ="$NM/mathjax/es5"
cp "$MJ/tex-chtml.js" "$OUT/mathjax/"
cp -r "$MJ/input/tex" "$OUT/mathjax/input/"
mkdir -p "$OUT/mathjax/output/chtml"
cp -r "$MJ/output/chtml/fonts" "$OUT/mathjax/output/chtml/"
cp -r "$MJ/ui" "$MJ/a11y" "$MJ/adaptors" "$OUT/mathjax/"

cp "$PLOTLY_JS" "$OUT/plotly.min.js"

echo "vendor_assets: $(du -sh "$OUT" | cut -f1) in $OUT"
