#!/usr/bin/env bash
# Install the Debian packages the tests use as real peers, skipping what is there.
#   postgresql:  the throwaway cluster for the PostgreSQL runs
#   sip-tester:  SIPp, the carrier and caller side of SIP tests
#   baresip:     the agent's SIP phone in tests
#   chromium:    the browser for the UI's end-to-end tests (driven by playwright-core)
#   fonts-wqy-microhei: Chinese glyphs in the UI's screenshots
#   nodejs, npm: building and testing the browser UI (when the machine has no Node.js)
#   espeak-ng:   prompts spoken from text (Mandarin and English) when a site has no recording
#   sox:         a second reader of the recorder's repaired WAV files in the tests
#   rtpengine-daemon: the C reference of `callcenter bench media` (argument "bench" only)
# With the argument "demo", only what `make demo` needs (Node.js to build the UI, espeak-ng);
# with "bench", also what the benchmarks compare against.
set -euo pipefail
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
# build-essential, python3-dev: compiling the media engine's relay (src/callcenter/media/_fastpath.c)
command -v gcc >/dev/null 2>&1 || missing+=(build-essential)
python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null || missing+=(python3-dev)
if [ "${1:-test}" = "bench" ]; then
    command -v rtpengine >/dev/null 2>&1 || missing+=(rtpengine-daemon)
fi
if [ "${1:-test}" != "demo" ]; then
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v baresip >/dev/null 2>&1 || missing+=(baresip)
command -v soxi >/dev/null 2>&1 || missing+=(sox)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The test setup starts its own clusters; the packaged default cluster is not needed.
if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _; do
        pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    done
fi
