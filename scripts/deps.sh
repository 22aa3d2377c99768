#!/usr/bin/env bash
# Installs what pollbridge needs to build and test, from Debian's packages
# only. Idempotent: apt-get runs only when something is missing.
#   scripts/deps.sh            build + test dependencies
#   scripts/deps.sh --build    build dependencies only
set -euo pipefail

build_pkgs=(cmake g++ ninja-build pkg-config libcpp-httplib-dev libyaml-cpp-dev libssl-dev
  nlohmann-json3-dev libsqlite3-dev zlib1g-dev libbrotli-dev libre2-dev libcurl4-openssl-dev
  ca-certificates)
test_pkgs=(libgtest-dev clang-format clang openssl)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" != "--build" ]]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
