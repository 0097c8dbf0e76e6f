#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Debian package's tests (tests/package/CMakeLists.txt runs one STEP per
# ctest test):
#
#   build         cpack -G DEB into $ES_WORK/out, then dpkg -x into $ES_WORK/root
#                 (the fixture: every other step uses that .deb and tree)
#   contents      dpkg-deb -c: every expected file, and nothing elsewhere
#   control       dpkg-deb -f / -I: fields, Depends, shlibs, triggers, scripts
#   lintian       no error (E:) from lintian
#   systemd_unit  systemd-analyze verify and security --offline on the unit
#   programs      the unpacked programs run; the server serves with the
#                 packaged config: subscribe, publish, stats, SIGTERM
#   config        every example line of the packaged config parses
#   syscalls      the system calls the server makes are in the unit's
#                 SystemCallFilter (@system-service), under strace
#   consumer      a CMake project finds libes (find_package(es)) in the tree,
#                 builds and runs
#
# Environment (set by CMake): ES_SOURCE_DIR ES_BUILD_DIR ES_WORK ES_VERSION
# ES_MULTIARCH ES_LIBDIR ES_CMAKE ES_CPACK ES_CXX. Exit 77: skipped, a tool is
# missing. Servers listen on 127.0.0.1 port 0 (a free port, read from the log).
set -euo pipefail

step=${1:?usage: package_test.sh STEP}
work=${ES_WORK:?}
root=$work/root
deb=$work/eventsource.deb
unit=lib/systemd/system/eventsource-server.service
conf=etc/eventsource/eventsource-server.conf

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed (scripts/dev setup installs it)"; }
contains() { grep -qF -- "$2" <<<"$1"; }

# The unpacked programs find the unpacked libes, not one installed elsewhere.
export LD_LIBRARY_PATH=$root/usr/$ES_LIBDIR

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# start_server LOG ARGS...: the packaged server in the background; sets
# server_pid and port (from "listening on 127.0.0.1:PORT").
start_server() {
  local log=$1; shift
  "$@" 2>"$log" &
  server_pid=$!
  pids+=("$server_pid")
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$log")
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start: $(cat "$log")"
    sleep 0.1
  done
  fail "no 'listening on 127.0.0.1:PORT' line within 10 s: $(cat "$log")"
}

# stop_server LOG: SIGTERM, then it must exit 0 and log "stopped".
stop_server() {
  local log=$1 status=0
  kill -TERM "$server_pid"
  wait "$server_pid" || status=$?
  [ "$status" -eq 0 ] || fail "the server exited $status after SIGTERM: $(cat "$log")"
  grep -qx stopped "$log" || fail "no 'stopped' line: $(cat "$log")"
}

# publish_once LOG TOKEN DATA: the packaged eventsource-request, retried until
# the subscriber started before is registered (404 until then).
publish_once() {
  local log=$1 token=$2 data=$3
  for _ in $(seq 50); do
    if "$root/usr/bin/eventsource-request" -P "$port" "$token" ping "$data" >"$log.publish" 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  fail "publishing failed: $(cat "$log.publish")"
}

case "$step" in
build)
  need dpkg-deb
  need dpkg-shlibdeps # CPACK_DEBIAN_PACKAGE_SHLIBDEPS
  rm -rf "$work"
  mkdir -p "$work/out"
  # -B: the package goes to the tests' own directory, not next to the one
  # `scripts/dev package` makes.
  "$ES_CPACK" -G DEB --config "$ES_BUILD_DIR/CPackConfig.cmake" -B "$work/out"
  debs=("$work"/out/eventsource_*.deb)
  [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one eventsource_*.deb in $work/out"
  arch=$(dpkg --print-architecture)
  [ "$(basename "${debs[0]}")" = "eventsource_${ES_VERSION}_${arch}.deb" ] \
    || fail "unexpected file name $(basename "${debs[0]}")"
  ln -s "${debs[0]}" "$deb"
  dpkg -x "$deb" "$root"
  echo "built and unpacked $(basename "${debs[0]}")"
  ;;

contents)
  listing=$(dpkg-deb -c "$deb")
  printf '%s\n' "$listing"
  ma=usr/lib/$ES_MULTIARCH
  expected=(
    usr/bin/eventsource-server usr/bin/eventsource-client
    usr/bin/eventsource-request usr/bin/eventsource-bench
    "$ma/libes.so.$ES_VERSION" "$ma/libes.so.0" "$ma/libes.so"
    usr/include/es/server.hpp usr/include/es/client.hpp
    "$ma/cmake/es/esConfig.cmake" "$ma/cmake/es/esConfigVersion.cmake" "$ma/cmake/es/esTargets.cmake"
    usr/share/man/man1/eventsource-server.1.gz usr/share/man/man1/eventsource-client.1.gz
    usr/share/man/man1/eventsource-request.1.gz usr/share/man/man1/eventsource-bench.1.gz
    usr/share/doc/eventsource/copyright usr/share/doc/eventsource/changelog.gz
    usr/share/lintian/overrides/eventsource
    "$unit" "$conf"
  )
  for f in "${expected[@]}"; do
    grep -qE " \./$f( -> .*)?\$" <<<"$listing" || fail "$f is not in the package"
  done
  grep -qE "^l.* \./$ma/libes\.so\.0 -> libes\.so\.$ES_VERSION\$" <<<"$listing" \
    || fail "libes.so.0 is not a link to libes.so.$ES_VERSION"
  grep -qE "^l.* \./$ma/libes\.so -> libes\.so\.0\$" <<<"$listing" || fail "libes.so is not a link to libes.so.0"
  # Man pages compressed (policy 12.1), and really gzip.
  ! grep -qE '\./usr/share/man/.*\.1$' <<<"$listing" || fail "an uncompressed man page"
  for m in "$root"/usr/share/man/man1/*.gz; do gzip -t "$m" || fail "$m is not gzip"; done
  # Nothing outside the expected places, everything owned by root.
  dirs=" ./ ./etc/ ./etc/eventsource/ ./lib/ ./lib/systemd/ ./lib/systemd/system/ ./usr/ ./usr/bin/
    ./usr/include/ ./usr/include/es/ ./usr/lib/ ./$ma/ ./$ma/cmake/ ./$ma/cmake/es/ ./usr/share/
    ./usr/share/doc/ ./usr/share/doc/eventsource/ ./usr/share/man/ ./usr/share/man/man1/
    ./usr/share/lintian/ ./usr/share/lintian/overrides/ "
  files="^\./(etc/eventsource/[^/]+|$unit|usr/bin/[^/]+|usr/include/es/[^/]+\.hpp|$ma/libes\.so[.0-9]*"
  files+="|$ma/cmake/es/[^/]+\.cmake|usr/share/(doc/eventsource|man/man1|lintian/overrides)/[^/]+)\$"
  while read -r path; do
    case "$path" in
      */) [[ $dirs == *" $path"[[:space:]]* ]] || fail "unexpected directory $path" ;;
      *) grep -qE "$files" <<<"$path" || fail "unexpected file $path" ;;
    esac
  done < <(awk '{print $6}' <<<"$listing")
  ! awk '{print $2}' <<<"$listing" | grep -qv '^root/root$' || fail "a file not owned by root/root"
  # The conffile is the packaged config, and dpkg knows it as one.
  [ "$(dpkg-deb -I "$deb" conffiles)" = "/$conf" ] || fail "conffiles is not exactly /$conf"
  echo "contents: all ${#expected[@]} expected files, nothing stray"
  ;;

control)
  fields=$(dpkg-deb -f "$deb")
  printf '%s\n' "$fields"
  field() { dpkg-deb -f "$deb" "$1"; }
  [ "$(field Package)" = eventsource ] || fail "Package is not eventsource"
  [ "$(field Version)" = "$ES_VERSION" ] || fail "Version is not the project's $ES_VERSION"
  [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "wrong Architecture"
  for f in Maintainer Section Priority Homepage Description Installed-Size; do
    [ -n "$(field "$f")" ] || fail "no $f field"
  done
  grep -qE '^.+ <[^>]+@[^>]+>$' <<<"$(field Maintainer)" || fail "Maintainer is not 'Name <address>'"
  [ "$(field Description | wc -l)" -gt 3 ] || fail "no extended description"
  depends=$(field Depends)
  # adduser for postinst; the rest from dpkg-shlibdeps (libes's and the programs' NEEDED).
  names=$(tr ',' '\n' <<<"$depends" | sed -E 's/^ *//; s/ .*//')
  for d in adduser libc6 'libstdc++6' libgcc-s1; do
    grep -qxF "$d" <<<"$names" || fail "Depends lacks $d: $depends"
  done
  grep -qE '^libcpp-httplib[0-9.]+$' <<<"$names" || fail "Depends lacks libcpp-httplib: $depends"
  # For packages built against libes, and ldconfig after installation.
  [ "$(dpkg-deb -I "$deb" shlibs)" = "libes 0 eventsource (>= $ES_VERSION)" ] || fail "shlibs: $(dpkg-deb -I "$deb" shlibs)"
  [ "$(dpkg-deb -I "$deb" triggers)" = "activate-noawait ldconfig" ] || fail "no ldconfig trigger"
  control=$work/control
  rm -rf "$control"
  dpkg-deb -e "$deb" "$control"
  for s in postinst prerm postrm; do
    [ -x "$control/$s" ] || fail "$s is not executable"
    sh -n "$control/$s" || fail "$s: syntax error"
  done
  grep -q 'adduser --system --group --no-create-home' "$control/postinst" || fail "postinst makes no system user"
  grep -q '\[ -d /run/systemd/system \]' "$control/postinst" || fail "postinst starts the unit without systemd"
  echo "control: fields, Depends ($depends), shlibs, trigger, scripts"
  ;;

lintian)
  need lintian
  # Errors fail; warnings and information are shown. Overrides, each with its
  # reason: packaging/debian/lintian-overrides.
  status=0
  out=$(lintian --tag-display-limit 0 --show-overrides "$deb" 2>&1) || status=$?
  printf '%s\n' "$out"
  ! grep -q '^E: ' <<<"$out" || fail "lintian reports errors"
  [ "$status" -eq 0 ] || fail "lintian exited $status"
  echo "lintian: $(grep -c '^W: ' <<<"$out" || true) warnings, $(grep -c '^O: ' <<<"$out" || true) overridden, no errors"
  ;;

systemd_unit)
  need systemd-analyze
  packaged=$root/$unit
  grep -qx 'ExecStart=/usr/bin/eventsource-server --config /etc/eventsource/eventsource-server.conf' "$packaged" \
    || fail "ExecStart does not run /usr/bin/eventsource-server with the packaged config"
  for line in User=eventsource Restart=on-failure LimitNOFILE=1048576 NoNewPrivileges=yes \
              ProtectSystem=strict CapabilityBoundingSet= KillSignal=SIGTERM; do
    grep -qx "$line" "$packaged" || fail "the unit lacks $line"
  done
  # verify wants ExecStart's program to exist and Documentation='s man page
  # to be found: a copy of the unit whose ExecStart is the unpacked program,
  # with MANPATH at the unpacked man pages. It prints what it finds wrong
  # (an unknown key, a bad value) and may still exit 0: output fails too.
  dir=$work/systemd
  rm -rf "$dir"
  mkdir -p "$dir"
  sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$packaged" >"$dir/eventsource-server.service"
  status=0
  out=$(MANPATH=$root/usr/share/man systemd-analyze verify "$dir/eventsource-server.service" 2>&1) || status=$?
  [ "$status" -eq 0 ] && [ -z "$out" ] || fail "systemd-analyze verify (exit $status): $out"
  # The sandbox: exposure (0-10) at most 2.5; --threshold counts tenths.
  status=0
  out=$(systemd-analyze security --offline=yes --threshold=25 "$dir/eventsource-server.service" 2>&1) || status=$?
  tail -n 1 <<<"$out"
  [ "$status" -eq 0 ] || fail "systemd-analyze security: exposure above 2.5: $out"
  echo "systemd_unit: verify clean"
  ;;

programs)
  dir=$work/programs
  rm -rf "$dir"
  mkdir -p "$dir"
  # No RPATH/RUNPATH: the packaged programs must not reach into the build tree.
  for f in "$root"/usr/bin/* "$root/usr/$ES_LIBDIR/libes.so.$ES_VERSION"; do
    ! readelf -d "$f" | grep -qE 'R(UN)?PATH' || fail "$f has an RPATH or RUNPATH"
  done
  grep -qF "$root/usr/$ES_LIBDIR/libes.so.0" <<<"$(ldd "$root/usr/bin/eventsource-server")" \
    || fail "the packaged server does not load the packaged libes: $(ldd "$root/usr/bin/eventsource-server")"
  for p in eventsource-server eventsource-client eventsource-request eventsource-bench; do
    [ "$("$root/usr/bin/$p" --version)" = "$p $ES_VERSION" ] || fail "$p --version"
    help=$("$root/usr/bin/$p" --help) || fail "$p --help exited non-zero"
    contains "$help" "--version" || fail "$p --help lists no options"
  done
  contains "$("$root/usr/bin/eventsource-server" --help)" "--config" || fail "eventsource-server --help has no --config"
  # The packaged server with the packaged config (loopback, 8888), on a free port.
  log=$dir/server.log
  start_server "$log" "$root/usr/bin/eventsource-server" --config "$root/$conf" -P 0
  grep -qE '^descriptors: [0-9]+ \(about [0-9]+ streams\)$' "$log" || fail "no descriptors line: $(cat "$log")"
  "$root/usr/bin/eventsource-client" -P "$port" -n 1 --data-only --timeout 10 news >"$dir/client.out" 2>"$dir/client.err" &
  client=$!
  pids+=("$client")
  publish_once "$log" news "hello from the package"
  status=0
  wait "$client" || status=$?
  [ "$status" -eq 0 ] || fail "the client exited $status: $(cat "$dir/client.err")"
  [ "$(cat "$dir/client.out")" = "hello from the package" ] || fail "the client got: $(cat "$dir/client.out")"
  stats=$(curl -sS --max-time 5 "http://127.0.0.1:$port/stats")
  contains "$stats" '"events_published":1' || fail "stats: $stats"
  contains "$stats" '"events_delivered":1' || fail "stats: $stats"
  stop_server "$log"
  echo "programs: versions, help, one event through the packaged server and tools"
  ;;

config)
  dir=$work/config
  rm -rf "$dir"
  mkdir -p "$dir"
  # Every commented example ("# key = value") switched on must parse too.
  sed -E 's/^# ([a-z][a-z-]* = )/\1/' "$root/$conf" >"$dir/all.conf"
  examples=$(grep -cE '^[a-z][a-z-]* = ' "$dir/all.conf")
  [ "$examples" -ge 15 ] || fail "only $examples settings in the config: the sed above missed some"
  log=$dir/server.log
  start_server "$log" "$root/usr/bin/eventsource-server" --config "$dir/all.conf" -P 0
  stop_server "$log"
  # The server ignores a key it does not know (CLI11's default): every key
  # must be one of its long options.
  help=$("$root/usr/bin/eventsource-server" --help)
  for key in $(sed -nE 's/^([a-z][a-z-]*) = .*/\1/p' "$dir/all.conf"); do
    grep -qE -- "--$key( |$)" <<<"$help" || fail "config key $key is not an option of eventsource-server"
  done
  # The file is read and checked: a bad value stops the server (exit 2).
  { cat "$root/$conf"; echo 'workers = 0'; } >"$dir/bad.conf"
  status=0
  timeout 10 "$root/usr/bin/eventsource-server" --config "$dir/bad.conf" -P 0 >"$dir/bad.log" 2>&1 || status=$?
  [ "$status" -eq 2 ] || fail "a config with workers = 0: exit $status, not 2: $(cat "$dir/bad.log")"
  echo "config: all $examples settings are options and parse; a bad value is refused"
  ;;

syscalls)
  need strace
  need systemd-analyze
  strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
  dir=$work/syscalls
  rm -rf "$dir"
  mkdir -p "$dir"
  # The packaged server, traced through a subscription, a publish, stats and
  # a SIGTERM (sent to the server, strace's child).
  log=$dir/server.log
  start_server "$log" strace -f -qq -o "$dir/trace" "$root/usr/bin/eventsource-server" --config "$root/$conf" -P 0
  tracer=$server_pid
  server_pid=$(pgrep -P "$tracer")
  "$root/usr/bin/eventsource-client" -P "$port" -n 1 --timeout 10 t >/dev/null 2>&1 &
  client=$!
  pids+=("$client")
  publish_once "$log" t "traced"
  wait "$client" || fail "the client failed"
  curl -sS --max-time 5 "http://127.0.0.1:$port/stats" >/dev/null
  kill -TERM "$server_pid"
  wait "$tracer" || fail "the traced server did not exit 0: $(cat "$log")"
  used=$(sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' "$dir/trace" | sort -u)
  [ "$(wc -l <<<"$used")" -gt 20 ] || fail "too few system calls in the trace: $used"
  # @system-service, its groups expanded (systemd-analyze syscall-filter
  # prints each group: "@name", comment lines, then members, @groups among them).
  allowed=$(systemd-analyze syscall-filter 2>/dev/null | awk '
    /^@/ { g = $1; next }
    /^ *#/ || NF == 0 { next }
    g != "" { members[g] = members[g] " " $1 }
    function expand(group,   n, i, list) {
      if (group in seen) return
      seen[group] = 1
      n = split(members[group], list, " ")
      for (i = 1; i <= n; i++)
        if (list[i] ~ /^@/) expand(list[i]); else print list[i]
    }
    END { expand("@system-service") }' | sort -u)
  [ "$(wc -l <<<"$allowed")" -gt 100 ] || fail "could not read @system-service"
  missing=$(comm -23 <(printf '%s\n' "$used") <(printf '%s\n' "$allowed"))
  [ -z "$missing" ] || fail "system calls outside SystemCallFilter=@system-service (the unit would get EPERM): $missing"
  echo "syscalls: $(wc -l <<<"$used") distinct calls, all in @system-service"
  ;;

consumer)
  dir=$work/consumer
  rm -rf "$dir"
  # The unpacked /usr as the prefix; no package registry, no system es.
  "$ES_CMAKE" -S "$ES_SOURCE_DIR/tests/package/consumer" -B "$dir" \
    -DCMAKE_CXX_COMPILER="$ES_CXX" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DES_EXPECTED_VERSION="$ES_VERSION" | tee "$dir.configure.log"
  grep -qF -- "-- es $ES_VERSION from $root/usr/$ES_LIBDIR/cmake/es" "$dir.configure.log" \
    || fail "find_package(es) did not find the unpacked package"
  "$ES_CMAKE" --build "$dir"
  out=$("$dir/consumer") || fail "the consumer failed: $out"
  printf '%s\n' "$out"
  [ "$out" = 'consumer: got "hello from a consumer"' ] || fail "unexpected output"
  ;;

*)
  fail "unknown step $step"
  ;;
esac
