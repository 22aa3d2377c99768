#!/usr/bin/env bash
# The one list of the Debian packages that pollbridge's scripts need, by
# group, and their installer: every other script calls this one with the
# groups it needs. Idempotent: apt-get runs only when something is missing.
# As root it installs directly, otherwise through sudo.
#
#   scripts/deps.sh [GROUP...]        install what the groups need
#                                     (no group: build test)
#   scripts/deps.sh --list [GROUP...] print the groups' packages, one a line
#   scripts/deps.sh --build           the same as `scripts/deps.sh build`
#
# Groups (who asks for them):
#   build    compiling pollbridge, the example backend and the load client
#   test     the C++ suite: GoogleTest, clang-format, clang and its runtime
#            libraries (sanitizers, libFuzzer), promtool (from prometheus: the
#            example alert rules are checked), python3-xmltodict and python3
#            (references of the XML mapping's and the CSV reader's property
#            tests), python3-jsonschema and python3-yaml (the config's
#            JSON Schema checked against every config: tests/schema)
#            (scripts/test.sh, fuzz.sh)
#   example  what a build with the tests configured adds (run-example.sh,
#            test-js.sh when it builds pollbridge itself)
#   js       Node.js 18+ and npm (test-js.sh)
#   browser  Chromium for the browser test (test-js.sh, unless $CHROMIUM)
#   package  the .deb and its test: dpkg-shlibdeps, systemd-analyze, fakeroot,
#            lintian
#            (scripts/test.sh stage "package")
#   bench    nginx with nchan, procps (bench-fanout.sh)
#   profile  perf (bench-fanout.sh with PERF=1)
#   cluster  redis-server and nginx for three instances behind a load
#            balancer (examples/cluster/cluster.sh)
#
# No package installed here starts a service while it is installed (a
# temporary policy-rc.d, when none is in place): a developer's machine gets
# tools, not daemons.
set -euo pipefail

# package             groups that need it          cmd:X = skip when X is on PATH
# (a Node.js installed some other way is kept, whatever its version: test-js.sh
# checks that it is 18 or later.)
TABLE='
cmake                 build
g++                   build
ninja-build           build
pkg-config            build
libcpp-httplib-dev    build
libyaml-cpp-dev       build
libssl-dev            build
nlohmann-json3-dev    build
libsqlite3-dev        build
zlib1g-dev            build
libbrotli-dev         build
libre2-dev            build
libcurl4-openssl-dev  build
libhiredis-dev        build
libxml2-dev           build
ca-certificates       build
libgtest-dev          test example
clang-format          test
clang                 test
libclang-rt-14-dev    test
openssl               test bench
redis-server          test bench cluster
python3               test                         cmd:python3
prometheus            test                         cmd:promtool
python3-xmltodict     test
python3-jsonschema    test
python3-yaml          test
nodejs                js                           cmd:node
npm                   js                           cmd:npm
chromium              browser
dpkg-dev              package
lintian               package
fakeroot              package
systemd               package
nginx                 bench cluster
libnginx-mod-nchan    bench
procps                bench
linux-perf            profile                      cmd:perf
'
GROUPS_KNOWN="build test example js browser package bench cluster profile"

list=0
groups=()
for arg in "$@"; do
  case $arg in
    --list) list=1 ;;
    --build) groups+=(build) ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "deps: unknown option $arg (try --help)" >&2
      exit 2
      ;;
    *)
      if [[ " $GROUPS_KNOWN " != *" $arg "* ]]; then
        echo "deps: unknown group $arg (groups: $GROUPS_KNOWN)" >&2
        exit 2
      fi
      groups+=("$arg")
      ;;
  esac
done
((${#groups[@]})) || groups=(build test)

# The packages of the requested groups, in table order, each once; with the
# command that makes one unnecessary.
pkgs=()
declare -A skip_if=()
while read -r name rest; do
  [[ -z $name ]] && continue
  want=0
  for word in $rest; do
    case $word in
      cmd:*) skip_if[$name]=${word#cmd:} ;;
      *) for g in "${groups[@]}"; do [[ $word == "$g" ]] && want=1; done ;;
    esac
  done
  ((want)) && pkgs+=("$name")
done <<<"$TABLE"

if ((list)); then
  printf '%s\n' "${pkgs[@]}"
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  if [[ -n ${skip_if[$p]:-} ]] && command -v "${skip_if[$p]}" >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)
echo "deps: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  # exit 101: "action not allowed" for invoke-rc.d and deb-systemd-invoke.
  "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap '"${SUDO[@]}" rm -f "$policy"' EXIT
fi
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
