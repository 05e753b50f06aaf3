#!/bin/sh
# Renders a `chunkwatch tune --report` page in a real browser (headless
# Chromium) to a PNG, to check how it looks without opening a desktop.
#
# usage: scripts/render-report.sh REPORT.html OUT.png [WIDTH,HEIGHT]
#
# WIDTH,HEIGHT is the browser window (default 1200,2000); the page below it is
# cut off, so give a taller window for a long report. Installs Debian's
# `chromium` with apt-get when no Chromium is found and we may.
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
html=$1
out=$2
size=${3:-1200,2000}
[ -r "$html" ] || { echo "$0: cannot read $html" >&2; exit 1; }

browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "$0: installing chromium (apt-get)…" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null
        browser=chromium
    else
        echo "$0: no chromium found; install it (Debian: apt-get install chromium)" >&2
        exit 1
    fi
fi

abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
rm -f "$out"
# --no-sandbox: Chromium refuses to run as root with its sandbox (containers, CI).
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size="$size" --screenshot="$out" "file://$abs" >/dev/null 2>&1 || true
if [ ! -s "$out" ]; then
    echo "$0: $browser wrote no screenshot to $out" >&2
    exit 1
fi
echo "$out"
