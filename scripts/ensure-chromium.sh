#!/usr/bin/env bash
# The report's browser test renders the HTML in headless Chromium (Debian packages chromium and
# chromium-driver). Install them when missing; needs root (as on CI) or sudo.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
command -v chromium
