#!/usr/bin/env bash
# The Debian package, end to end (ctest label "package"; scripts/test.sh
# stage "package"):
#   1. builds it with `cmake --build BUILD --target package`;
#   2. checks its control fields, conffiles, maintainer scripts and contents
#      (dpkg-deb -I/-c), and that Depends names the package of every library
#      the binary links;
#   3. installs it with `dpkg -i` into a scratch root (--root, an admindir of
#      its own that knows the host's copies of the dependencies, maintainer
#      scripts run chrootless with DPKG_ROOT), runs the installed binary's
#      --check on the installed config and starts it on that config;
#   2b. runs lintian (no error, every warning overridden with its reason) and
#      checks the generated files (schema, manual pages) match the binary;
#   4. checks the unit: `systemd-analyze verify` (any warning fails) plus a
#      small parser for the keys and values the package promises;
#   5. reinstalls over an edited conffile and a disabled unit, removes and
#      purges, and checks that the host's own systemd state was not touched.
#
#   tests/package/test-package.sh BUILD_DIR EXPECTED_VERSION   (e.g. 0.1.0-1)
#
# Needs dpkg-dev (dpkg-shlibdeps), systemd (systemd-analyze), lintian and, as
# non-root, fakeroot: `scripts/deps.sh package`. KEEP=1 keeps the scratch
# directory.
# shellcheck disable=SC2016,SC2317  # bash -c scripts take "$1"; functions run via check/trap
set -uo pipefail

BUILD=$(cd "${1:?usage: test-package.sh BUILD_DIR EXPECTED_VERSION}" && pwd)
WANT_VERSION=${2:?usage: test-package.sh BUILD_DIR EXPECTED_VERSION}
UNIT=pollbridge.service
CONFIG=/etc/pollbridge/pollbridge.yaml
ENVFILE=/etc/pollbridge/pollbridge.env
UNIT_PATH=/lib/systemd/system/$UNIT

passed=0
failed=0
ok() {
  passed=$((passed + 1))
  echo "ok - $*"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL - $*"
}
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed == 0 ]]
  exit
}
die() {
  fail "$*"
  finish
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pb-package-test.XXXXXX")
PB_PID=
cleanup() {
  [[ -n $PB_PID ]] && kill -KILL "$PB_PID" 2>/dev/null
  if [[ ${KEEP:-0} == 1 ]]; then echo "scratch directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

DPKG=(dpkg)
if [[ $(id -u) != 0 ]]; then
  command -v fakeroot >/dev/null || die "not root and no fakeroot (scripts/deps.sh package)"
  DPKG=(fakeroot dpkg)
fi
for tool in dpkg-deb dpkg-shlibdeps readelf ldd; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh package)"
done

# ------------------------------------------------------------------ build ---
arch=$(dpkg --print-architecture)
DEB=$BUILD/pollbridge_${WANT_VERSION}_$arch.deb
rm -f "$DEB"
if ! cmake --build "$BUILD" --target package >"$WORK/build.log" 2>&1; then
  cat "$WORK/build.log"
  die "cmake --build $BUILD --target package"
fi
[[ -f $DEB ]] || die "no $DEB after building the package target"
ok "cmake --build --target package made $(basename "$DEB")"

# --------------------------------------------------------- control fields ---
field() { dpkg-deb -f "$DEB" "$1"; }
check "Package is pollbridge" test "$(field Package)" = pollbridge
check "Version is $WANT_VERSION (the CMake project version)" test "$(field Version)" = "$WANT_VERSION"
check "Architecture is $arch" test "$(field Architecture)" = "$arch"
for f in Maintainer Section Priority Homepage Description Depends Installed-Size; do
  check "control field $f is set ($(field "$f" | head -1))" test -n "$(field "$f")"
done
check "Maintainer is 'Name <email>'" grep -Eq '^[^<>]+ <[^<>@ ]+@[^<> ]+>$' <<<"$(field Maintainer)"
check "Description has an extended part" test "$(field Description | wc -l)" -gt 2

mkdir -p "$WORK/control" "$WORK/data"
dpkg-deb -e "$DEB" "$WORK/control"
dpkg-deb -x "$DEB" "$WORK/data"
check "conffiles lists $CONFIG" grep -qx "$CONFIG" "$WORK/control/conffiles"
check "conffiles lists $ENVFILE" grep -qx "$ENVFILE" "$WORK/control/conffiles"
for s in postinst prerm postrm; do
  check "$s is an executable, syntactically valid sh script" \
    bash -c '[[ -x $1 ]] && head -1 "$1" | grep -qx "#!/bin/sh" && sh -n "$1"' _ "$WORK/control/$s"
done

# --------------------------------------------------------------- contents ---
dpkg-deb -c "$DEB" | awk '{print $1, $2, $6}' >"$WORK/contents"
has() { # has MODE PATH: the package holds PATH as root/root with MODE
  grep -qx -- "$1 root/root ./${2#/}" "$WORK/contents"
}
check "/usr/bin/pollbridge, 0755 root" has -rwxr-xr-x /usr/bin/pollbridge
check "$CONFIG, 0644 root (read by the service's transient user)" has -rw-r--r-- "$CONFIG"
check "$ENVFILE, 0600 root (secrets)" has -rw------- "$ENVFILE"
check "$UNIT_PATH, 0644 root" has -rw-r--r-- "$UNIT_PATH"
check "/usr/share/doc/pollbridge/install.md" has -rw-r--r-- /usr/share/doc/pollbridge/install.md
check "nothing outside /usr, /etc/pollbridge, /lib/systemd" \
  bash -c '! awk "{print \$3}" "$1" | grep -Ev "$2"' _ "$WORK/contents" \
  '^\./$|^\./etc/$|^\./etc/pollbridge/|^\./lib/$|^\./lib/systemd/$|^\./lib/systemd/system/|^\./usr/$|^\./usr/bin/|^\./usr/share/'
check "nothing under /usr/local" bash -c '! grep -q "\./usr/local" "$1"' _ "$WORK/contents"
check "the binary is stripped" bash -c '! readelf -S "$1" | grep -q "\.debug_info"' _ "$WORK/data/usr/bin/pollbridge"

# Depends against what the binary links: the package of each DT_NEEDED
# library (as this machine resolves it) must be a dependency.
depends=$(field Depends)
dep_names=$(tr ',' '\n' <<<"$depends" | sed 's/([^)]*)//g; s/|/\n/g' | tr -d ' ' | sed '/^$/d')
mapfile -t needed < <(readelf -d "$WORK/data/usr/bin/pollbridge" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
check "the binary links shared libraries (${#needed[@]})" test "${#needed[@]}" -gt 0
for soname in "${needed[@]}"; do
  path=$(ldd "$WORK/data/usr/bin/pollbridge" | awk -v s="$soname" '$1 == s && $2 == "=>" {print $3}')
  owner=
  if [[ -n $path ]]; then
    for candidate in "$path" "$(readlink -f "$path")" "${path#/usr}" "/usr${path#/usr}"; do
      owner=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $owner ]] && break
    done
  fi
  if [[ -z $owner ]]; then
    fail "$soname: no Debian package owns it here ($path)"
  elif grep -qx "$owner" <<<"$dep_names"; then
    ok "Depends has $owner (for $soname)"
  else
    fail "Depends lacks $owner, which provides $soname: $depends"
  fi
done

check "Depends has procps (/bin/kill, for ExecReload)" grep -qx procps <<<"$dep_names"

# ----------------------------------------------------------------- lintian ---
# Debian's checker: no error, and every warning either fixed or overridden
# with its reason (packaging/debian/lintian-overrides). Informational tags
# (I:, P:) do not fail.
check "/usr/share/doc/pollbridge/changelog.Debian.gz" has -rw-r--r-- /usr/share/doc/pollbridge/changelog.Debian.gz
check "changelog.Debian.gz's latest entry is version $WANT_VERSION (packaging/debian/changelog)" \
  bash -c 'gzip -dc "$1" | head -1 | grep -q "^pollbridge ($2) "' _ \
  "$WORK/data/usr/share/doc/pollbridge/changelog.Debian.gz" "$WANT_VERSION"
check "/usr/share/doc/pollbridge/copyright" has -rw-r--r-- /usr/share/doc/pollbridge/copyright
check "/usr/share/man/man1/pollbridge.1.gz" has -rw-r--r-- /usr/share/man/man1/pollbridge.1.gz
check "/usr/share/man/man5/pollbridge.yaml.5.gz" has -rw-r--r-- /usr/share/man/man5/pollbridge.yaml.5.gz
check "/usr/share/pollbridge/pollbridge.schema.json" has -rw-r--r-- /usr/share/pollbridge/pollbridge.schema.json
check "the packaged schema is what the packaged binary prints (--print-schema)" \
  cmp -s "$WORK/data/usr/share/pollbridge/pollbridge.schema.json" <("$WORK/data/usr/bin/pollbridge" --print-schema)
check "pollbridge.yaml(5) is what the packaged binary prints (--print-man)" \
  cmp -s <(gzip -dc "$WORK/data/usr/share/man/man5/pollbridge.yaml.5.gz") <("$WORK/data/usr/bin/pollbridge" --print-man)
if command -v man >/dev/null; then
  # As lintian's groff-message check: a long URL that cannot be justified
  # or broken is not a fault of the page.
  for page in man1/pollbridge.1.gz man5/pollbridge.yaml.5.gz; do
    warnings=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \
      "$WORK/data/usr/share/man/$page" 2>&1 >/dev/null | grep -v "cannot adjust line\|can't break line")
    check "man $page: renders without a warning${warnings:+ ($warnings)}" test -z "$warnings"
  done
fi
if command -v lintian >/dev/null; then
  lintian --no-cfg --display-info "$DEB" >"$WORK/lintian.out" 2>&1
  lintian_errors=$(grep -c '^E:' "$WORK/lintian.out")
  lintian_warnings=$(grep -c '^W:' "$WORK/lintian.out")
  check "lintian: no error ($(grep '^E:' "$WORK/lintian.out" | head -5 | tr '\n' ' '))" test "$lintian_errors" = 0
  check "lintian: no warning that is not overridden ($(grep '^W:' "$WORK/lintian.out" | head -5 | tr '\n' ' '))" \
    test "$lintian_warnings" = 0
  check "lintian ran on it (it names the package or says nothing)" \
    bash -c '! grep -q "^internal error\|^error:" "$1"' _ "$WORK/lintian.out"
else
  fail "lintian is missing (scripts/deps.sh package)"
fi

# ------------------------------------------------------ install (scratch) ---
# The scratch root's dpkg database holds this machine's status entries of
# exactly the dependencies, so dpkg checks Depends (with versions) for real;
# the installed binary then runs on this machine's copies of the libraries.
ROOT=$WORK/root
ADMIN=$ROOT/var/lib/dpkg
mkdir -p "$ADMIN/info" "$ADMIN/updates" "$ADMIN/triggers"
: >"$ADMIN/available"
: >"$ADMIN/status"
for p in $dep_names; do
  if dpkg-query -s "$p" >>"$ADMIN/status" 2>/dev/null; then
    echo >>"$ADMIN/status"
    : >"$ADMIN/info/$(dpkg-query -W -f='${binary:Package}' "$p").list"
  fi
done

# The host's systemd state, to show afterwards that the chrootless maintainer
# scripts wrote only into the scratch root.
host_state() {
  find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled /var/lib/pollbridge \
    /var/lib/private/pollbridge -maxdepth 2 -printf '%p %y %l\n' 2>/dev/null | sort
}
host_state >"$WORK/host-before"

pkg_dpkg() { # runs dpkg on the scratch root, input from nowhere, output logged
  "${DPKG[@]}" --root="$ROOT" --force-script-chrootless --log="$WORK/dpkg.log" "$@" \
    </dev/null >>"$WORK/dpkg.out" 2>&1
}
pkg_status() { dpkg-query --admindir="$ADMIN" -W -f='${Status}' pollbridge 2>/dev/null; }

if pkg_dpkg -i "$DEB"; then
  ok "dpkg --root -i installs it (Depends satisfied by this machine's libraries)"
else
  cat "$WORK/dpkg.out"
  die "dpkg -i into the scratch root"
fi
check "status: install ok installed" test "$(pkg_status)" = "install ok installed"
for f in /usr/bin/pollbridge "$CONFIG" "$ENVFILE" "$UNIT_PATH"; do
  check "installed: $f" test -f "$ROOT$f"
done
wants=$ROOT/etc/systemd/system/multi-user.target.wants/$UNIT
if command -v deb-systemd-helper >/dev/null; then
  check "postinst enabled the unit (multi-user.target.wants -> $UNIT_PATH)" \
    test "$(readlink "$wants")" = "$UNIT_PATH"
else
  echo "note: no deb-systemd-helper here (init-system-helpers): enabling not checked"
fi

# ------------------------------------------------- the installed binary ---
BIN=$ROOT/usr/bin/pollbridge
want_short=${WANT_VERSION%-*}
check "installed binary: --version says $want_short" test "$("$BIN" --version)" = "pollbridge $want_short"
if out=$("$BIN" --check --config "$ROOT$CONFIG" 2>&1); then
  ok "installed binary: --check on the installed config: $out"
else
  fail "installed binary: --check on the installed config: $out"
fi

# Started on the installed config (in memory: its state.dir is the unit's
# /var/lib/pollbridge, not ours to write), on a free port.
http_reply() { # http_reply PORT PATH -> prints the whole response
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
  timeout 5 cat <&3
  exec 3<&-
}
http_get() { # http_get PORT PATH -> prints the status code
  http_reply "$1" "$2" | awk 'NR == 1 {print $2}'
}
"$BIN" --config "$ROOT$CONFIG" --memory --listen 127.0.0.1:0 >"$WORK/run.out" 2>"$WORK/run.err" &
PB_PID=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$WORK/run.out")
  [[ -n $port ]] && break
  kill -0 "$PB_PID" 2>/dev/null || break
  sleep 0.05
done
if [[ -n $port ]]; then
  ok "installed binary serves the installed config (port $port)"
  check "GET /healthz answers 200" test "$(http_get "$port" /healthz)" = 200
  # The example stream is `idle: stop`: parked until a client listens, so
  # the instance is ready without polling its (absent) backend.
  # 503 until the scheduler has parked it (at once, with no client).
  ready=
  for _ in $(seq 100); do
    ready=$(http_get "$port" /readyz)
    [[ $ready == 200 ]] && break
    sleep 0.05
  done
  check "GET /readyz answers 200 (the example stream is parked, not pending)" test "$ready" = 200
  check "the example stream polls nothing while no client listens" \
    grep -q '"name":"example".*"polls":0' <<<"$(http_reply "$port" /streams)"
  kill -TERM "$PB_PID"
  wait "$PB_PID"
  check "SIGTERM stops it with status 0" test $? = 0
else
  cat "$WORK/run.out" "$WORK/run.err"
  fail "installed binary did not start on the installed config"
fi
PB_PID=

# ------------------------------------------------------------- the unit ---
unit_file=$ROOT$UNIT_PATH
declare -A unit=()
parse_unit() { # fills unit[Section.Key] with the effective value (an empty assignment resets)
  local section="" line key value
  while IFS= read -r line || [[ -n $line ]]; do
    while [[ $line == *\\ ]] && IFS= read -r next; do line="${line%\\} $next"; done
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z $line || $line == \#* || $line == \;* ]] && continue
    if [[ $line =~ ^\[([A-Za-z]+)\]$ ]]; then
      section=${BASH_REMATCH[1]}
      continue
    fi
    [[ $line == *=* ]] || {
      fail "unit: not a key=value line: $line"
      continue
    }
    key=${line%%=*}
    value=${line#*=}
    key=${key%"${key##*[![:space:]]}"}
    value=${value#"${value%%[![:space:]]*}"}
    if [[ -z $value || -z ${unit[$section.$key]+set} ]]; then
      unit[$section.$key]=$value
    else
      unit[$section.$key]+=" $value"
    fi
  done <"$1"
}
parse_unit "$unit_file"
want_key() { # want_key Section.Key VALUE
  check "unit: $1=$2" test "${unit[$1]-<unset>}" = "$2"
}
check "unit: Type=exec or simple (pollbridge has no sd_notify)" \
  bash -c '[[ $1 == exec || $1 == simple ]]' _ "${unit[Service.Type]-}"
want_key Service.ExecStart "/usr/bin/pollbridge --config $CONFIG"
want_key Service.ExecReload '/bin/kill -HUP $MAINPID'
want_key Service.EnvironmentFile "-$ENVFILE"
want_key Service.StateDirectory pollbridge
want_key Service.DynamicUser yes
want_key Service.Restart on-failure
want_key Service.KillSignal SIGTERM
want_key Service.CapabilityBoundingSet ""
want_key Service.ProtectSystem strict
for k in ProtectHome NoNewPrivileges PrivateTmp PrivateDevices ProtectKernelTunables \
  ProtectKernelModules ProtectKernelLogs ProtectControlGroups RestrictNamespaces \
  LockPersonality MemoryDenyWriteExecute; do
  want_key "Service.$k" yes
done
check "unit: RestrictAddressFamilies is AF_INET AF_INET6 AF_UNIX" \
  test "$(tr ' ' '\n' <<<"${unit[Service.RestrictAddressFamilies]-}" | sort | xargs)" = "AF_INET AF_INET6 AF_UNIX"
check "unit: SystemCallFilter allows @system-service" \
  grep -qw -- '@system-service' <<<"${unit[Service.SystemCallFilter]-}"
want_key Install.WantedBy multi-user.target

# The unit against the installed config: the fd limit covers max_clients,
# the stop timeout covers shutdown_timeout (+ 1 s, pollbridge's own limit).
seconds() { # 15s, 1m, 1m30s, 500ms -> whole seconds (rounded up)
  local text=$1 total=0 n unit
  while [[ $text =~ ^([0-9]+)(ms|s|min|m|h)(.*)$ ]]; do
    n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} text=${BASH_REMATCH[3]}
    case $unit in
      ms) total=$((total + (n + 999) / 1000)) ;;
      s) total=$((total + n)) ;;
      m | min) total=$((total + n * 60)) ;;
      h) total=$((total + n * 3600)) ;;
    esac
  done
  [[ -z $text ]] && echo "$total"
}
cfg_value() { sed -n "s/^  $1: *\"\{0,1\}\([^\" #]*\).*/\1/p" "$ROOT$CONFIG" | head -1; }
max_clients=$(cfg_value max_clients)
shutdown=$(seconds "$(cfg_value shutdown_timeout)")
nofile=${unit[Service.LimitNOFILE]-0}
check "unit: LimitNOFILE=$nofile covers the config's max_clients ($max_clients) with room" \
  test "${nofile%%:*}" -ge $((max_clients + 1024))
stop=$(seconds "${unit[Service.TimeoutStopSec]-0}")
check "unit: TimeoutStopSec=${stop}s is above the config's shutdown_timeout (${shutdown}s) + 1 s" \
  test "$stop" -gt $((shutdown + 1))
check "unit: state.dir of the config is the StateDirectory (/var/lib/pollbridge)" \
  test "$(cfg_value dir)" = /var/lib/pollbridge
check "config: listens on loopback only" bash -c '[[ $1 == 127.0.0.1:* ]]' _ "$(cfg_value listen)"

if command -v systemd-analyze >/dev/null; then
  # A root of its own: this machine's units (for the targets it names), the
  # installed unit and binary, and kill for ExecReload.
  V=$WORK/verify-root
  mkdir -p "$V/lib/systemd" "$V/usr/bin" "$V/bin"
  cp -a /lib/systemd/system "$V/lib/systemd/"
  cp "$unit_file" "$V$UNIT_PATH"
  cp "$BIN" "$V/usr/bin/pollbridge"
  cp /bin/kill "$V/bin/kill"
  # verify exits 0 on unknown keys and unparsable values: any output fails.
  verify=$(cd "$WORK" && systemd-analyze verify --root="$V" "$UNIT" 2>&1)
  if [[ $? == 0 && -z $verify ]]; then
    ok "systemd-analyze verify: no complaint"
  else
    fail "systemd-analyze verify: $verify"
  fi
  exposure=$(cd "$WORK" && systemd-analyze security --offline=yes --root="$V" "$UNIT" 2>&1 |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [[ -n $exposure ]]; then
    check "systemd-analyze security: exposure $exposure (at most 2.0)" \
      awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'
  else
    fail "systemd-analyze security printed no exposure level"
  fi
else
  echo "note: systemd-analyze is missing (Debian's systemd package): only the key checks ran"
fi

# ------------------------------------------- upgrade, remove, purge ---
# An edited conffile survives a reinstall; so does an administrator's
# "disable".
echo "# edited by the administrator" >>"$ROOT$CONFIG"
if command -v deb-systemd-helper >/dev/null; then
  DPKG_ROOT=$ROOT deb-systemd-helper disable "$UNIT" >/dev/null 2>&1
fi
if pkg_dpkg -i "$DEB"; then ok "reinstall (upgrade path) succeeds"; else fail "reinstall: $(cat "$WORK/dpkg.out")"; fi
check "reinstall keeps the edited conffile" grep -qx "# edited by the administrator" "$ROOT$CONFIG"
check "reinstall leaves no .dpkg-dist/.dpkg-new beside it" \
  bash -c '! ls "$1"/etc/pollbridge/*.dpkg-* >/dev/null 2>&1' _ "$ROOT"
if command -v deb-systemd-helper >/dev/null; then
  check "reinstall keeps a disabled unit disabled" test ! -e "$wants"
  DPKG_ROOT=$ROOT deb-systemd-helper enable "$UNIT" >/dev/null 2>&1
fi

# State as the unit would leave it (DynamicUser: a link into /var/lib/private).
mkdir -p "$ROOT/var/lib/private/pollbridge"
echo state >"$ROOT/var/lib/private/pollbridge/pollbridge.db"
ln -s private/pollbridge "$ROOT/var/lib/pollbridge"

if pkg_dpkg -r pollbridge; then ok "dpkg -r removes it"; else fail "dpkg -r: $(cat "$WORK/dpkg.out")"; fi
check "after remove: status deinstall ok config-files" test "$(pkg_status)" = "deinstall ok config-files"
check "after remove: the binary and the unit are gone" test ! -e "$ROOT/usr/bin/pollbridge" -a ! -e "$ROOT$UNIT_PATH"
check "after remove: the conffiles and the state stay" \
  test -f "$ROOT$CONFIG" -a -f "$ROOT$ENVFILE" -a -f "$ROOT/var/lib/pollbridge/pollbridge.db"

if pkg_dpkg -P pollbridge; then ok "dpkg -P purges it"; else fail "dpkg -P: $(cat "$WORK/dpkg.out")"; fi
check "after purge: not known to dpkg" test -z "$(pkg_status)"
check "after purge: no /etc/pollbridge" test ! -e "$ROOT/etc/pollbridge"
check "after purge: no state (/var/lib/pollbridge, /var/lib/private/pollbridge)" \
  test ! -e "$ROOT/var/lib/pollbridge" -a ! -L "$ROOT/var/lib/pollbridge" -a ! -e "$ROOT/var/lib/private/pollbridge"
check "after purge: no enable link, no deb-systemd-helper record" \
  bash -c '! find "$1/etc/systemd" "$1/var/lib/systemd" -name "pollbridge*" 2>/dev/null | grep -q .' _ "$ROOT"

host_state >"$WORK/host-after"
if diff "$WORK/host-before" "$WORK/host-after" >"$WORK/host-diff"; then
  ok "this machine's systemd links and /var/lib are untouched"
else
  fail "the maintainer scripts changed this machine: $(cat "$WORK/host-diff")"
fi

finish
