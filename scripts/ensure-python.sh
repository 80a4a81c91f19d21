#!/usr/bin/env bash
# Create the virtual environment, installing Debian's venv support when it is missing.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "callcenter needs Python 3.11 or newer; '$python' is $("$python" --version 2>&1)" >&2
    exit 1
fi
if ! "$python" -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'pip==26.3' 'setuptools==84.2.1'
