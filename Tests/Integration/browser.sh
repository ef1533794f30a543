#!/usr/bin/env bash
# Renders mmusim's HTML report (line chart, stacked bars, timeline) in headless
# Chromium, the distribution's package (installed when absent). Fails on any
# console message (errors, uncaught exceptions), on a DOM without the charts,
# and on a blank screenshot. A page that logs an error on purpose is rendered
# first, to prove console errors are caught.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$SECONDS

if ! command -v chromium >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
MMUSIM=${MMUSIM:-}
if [ -z "$MMUSIM" ]; then
    swift build --product mmusim >/dev/null
    MMUSIM=$(swift build --show-bin-path)/mmusim
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
          --user-data-dir="$WORK/profile" --window-size=1280,1800)

# Prints the console lines Chromium logged while loading PAGE; the DOM goes to DOM.
console_of() { # PAGE DOM
    "${CHROMIUM[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=3000 --dump-dom "file://$1" >"$2" 2>"$WORK/log.txt" || true
    grep -E 'CONSOLE|Uncaught' "$WORK/log.txt" || true
}

# 1. The detector works: a page with a console error must be caught.
printf '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><script>console.error("canary error"); undefinedFunction();</script></body></html>\n' >"$WORK/canary.html"
if [ -z "$(console_of "$WORK/canary.html" "$WORK/canary.dom")" ]; then
    echo "browser.sh: console errors are not detected (the canary page's error was not seen)" >&2
    cat "$WORK/log.txt" >&2
    exit 1
fi

# 2. The report: a sweep, a run's timeline, and one HTML page with every chart.
(cd "$WORK" && "$MMUSIM" sweep scenario:threads-unmap --sweep shootdown=ipi,broadcast,deferred --sweep cores=2..16:x2 \
    --set frames=4096 -j 2 --quiet --csv results.csv)
"$MMUSIM" run Fixtures/26-cow-thread-shootdown.mmt --timeline "$WORK/timeline.json" >/dev/null
"$MMUSIM" plot "$WORK/results.csv" --x cores --y cycles.shootdown --by shootdown --timeline "$WORK/timeline.json" -o "$WORK/report.html"

messages=$(console_of "$WORK/report.html" "$WORK/report.dom")
if [ -n "$messages" ]; then
    echo "browser.sh: the report logged to the console:" >&2
    echo "$messages" >&2
    exit 1
fi
lines=$(grep -c '<polyline' "$WORK/report.dom" || true)
charts=$(grep -c '<svg' "$WORK/report.dom" || true)
if [ "$lines" -ne 3 ] || [ "$charts" -ne 3 ]; then
    echo "browser.sh: expected 3 charts and 3 lines (one per strategy) in the rendered DOM, found $charts charts and $lines lines" >&2
    exit 1
fi

"${CHROMIUM[@]}" --screenshot="$WORK/report.png" "file://$WORK/report.html" 2>/dev/null
python3 Tests/Integration/pngcheck.py "$WORK/report.png"
if [ -n "${SCREENSHOTS:-}" ]; then cp "$WORK/report.png" "$SCREENSHOTS/"; fi
echo "browser.sh: the report renders in $(chromium --version 2>/dev/null | head -1) with no console messages: 3 charts, 3 lines ($((SECONDS - START)) s)"
