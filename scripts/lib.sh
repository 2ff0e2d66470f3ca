# shellcheck shell=bash
# Shell helpers shared by the scripts that run throw-away servers on
# loopback (postgres.sh, minio.sh, nginx.sh, cluster.sh, containerd.sh).
# Source it after setting LIB_NAME, the prefix of log lines:
#
#   LIB_NAME=nginx.sh
#   source "$ROOT/scripts/lib.sh"
#
# It defines functions and the cleanup list only; nothing runs on source.
#
#   log MSG...                    "LIB_NAME: MSG" on stderr
#   lib_loopback ADDR             split a loopback host:port into HOST and
#                                 PORT (0: any); exit 2 for anything else
#   lib_free_port HOST            a port nobody listens on right now
#   lib_workdir NAME              a fresh temp dir berth-NAME.XXXXXX
#   lib_on_exit CMD [ARGS]        run CMD ARGS when the script exits (last
#                                 registered first); ^C and TERM exit 130
#   lib_running PID               true until PID has exited (a zombie has)
#   lib_runs PID BIN [ARG]        PID's argv[0] is BIN (and ARG is one of
#                                 its arguments)
#   lib_pids_of BIN [ARG]         every pid lib_runs BIN [ARG]
#   lib_stop SIG PID...           send SIG, wait up to 10 s, then SIGKILL
#   lib_stop_group SIG PGID...    the same for whole process groups
#   lib_wait_ready SECS PID LOG WHERE CMD...
#                                 poll CMD until it succeeds; fail (exit 1,
#                                 printing LOG) when PID exits or SECS pass
#   lib_port_open HOST PORT       something accepts TCP connections there
#   lib_http_ok URL               URL answers 2xx
#   lib_apt_install VERSION PKG...
#                                 Debian's PKGs, pinned to VERSION when the
#                                 archive has it, else their current version
#   lib_deb_check PKG VERSION     warn when the installed PKG is another version
#   lib_print_exports VAR...      "export VAR=value" lines, shell-quoted
#   lib_run_cmd LOGNAME LOG CMD...
#                                 run CMD; on failure print LOG's tail; exit
#                                 with CMD's status
#   lib_run_or_print LOGNAME LOG "VAR..." [-- CMD...]
#                                 lib_run_cmd CMD when given, else print the
#                                 exports of VARs and return

log() { printf '%s: %s\n' "${LIB_NAME:-${0##*/}}" "$*" >&2; }

# lib_loopback ADDR: set HOST and PORT from ADDR, which must be a loopback
# host:port (127.x.x.x, localhost or [::1]; port 0 for any), else exit 2.
lib_loopback() {
	HOST=${1%:*}
	PORT=${1##*:}
	if [[ ! $HOST =~ ^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost|\[::1\])$ ]]; then
		log "refusing non-loopback address $1"
		exit 2
	fi
	if [[ ! $PORT =~ ^[0-9]+$ || $HOST == "$1" ]]; then
		log "the address must be host:port, got $1"
		exit 2
	fi
}

# lib_free_port HOST: a port nobody listens on right now (IPv4 or [::1]).
lib_free_port() {
	python3 - "$1" <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket, sys
host = sys.argv[1].strip("[]")
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family)
s.bind((host, 0))
print(s.getsockname()[1])
s.close()
EOF
}

# lib_workdir NAME: a fresh directory under TMPDIR (or /tmp).
lib_workdir() { mktemp -d "${TMPDIR:-/tmp}/berth-$1.XXXXXX"; }

LIB_CLEANUPS=()

# lib_on_exit CMD [ARGS]: CMD runs with ARGS (as they are now) on exit,
# the last registered first, whatever the exit status.
lib_on_exit() {
	LIB_CLEANUPS+=("$(printf '%q ' "$@")")
	trap lib_cleanup EXIT
	trap 'exit 130' INT TERM
}

lib_cleanup() {
	local i
	for ((i = ${#LIB_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${LIB_CLEANUPS[i]}" || true
	done
}

# lib_running PID: true until PID has exited (a zombie has exited).
lib_running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# lib_runs PID BIN [ARG]: PID runs BIN (its argv[0]), with ARG among its
# arguments when given: so a pid file left by a killed server never
# names another process.
lib_runs() {
	local args=() a
	mapfile -d '' args 2>/dev/null <"/proc/$1/cmdline" || return 1
	[[ ${#args[@]} -gt 0 && ${args[0]} == "$2" ]] || return 1
	[[ $# -ge 3 ]] || return 0
	for a in "${args[@]:1}"; do
		[[ $a == "$3" ]] && return 0
	done
	return 1
}

# lib_pids_of BIN [ARG]: the pids lib_runs matches, one a line.
lib_pids_of() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if lib_runs "$p" "$@" && lib_running "$p"; then echo "$p"; fi
	done
}

# lib_stop SIG PID...: send SIG to each PID, wait up to 10 s for them to
# exit, SIGKILL what is left.
lib_stop() { _lib_stop "" "$@"; }

# lib_stop_group SIG PGID...: lib_stop for whole process groups (a
# server and the workers it forked; they outlive a SIGKILLed master).
lib_stop_group() { _lib_stop - "$@"; }

_lib_stop() {
	local neg=$1 sig=$2 p i
	shift 2
	[[ $# -gt 0 ]] || return 0
	for p in "$@"; do kill "-$sig" -- "$neg$p" 2>/dev/null || true; done
	for i in $(seq 1 100); do
		local alive=()
		for p in "$@"; do
			if [[ -n $neg ]]; then
				pgrep -g "$p" >/dev/null 2>&1 && alive+=("$p")
			elif lib_running "$p"; then
				alive+=("$p")
			fi
		done
		[[ ${#alive[@]} -gt 0 ]] || return 0
		if [[ $i -eq 100 ]]; then
			log "${alive[*]} did not stop in 10s; killing"
			for p in "${alive[@]}"; do kill -KILL -- "$neg$p" 2>/dev/null || true; done
		fi
		sleep 0.1
	done
}

# lib_wait_ready SECS PID LOG WHERE CMD...: poll CMD every 50 ms until it
# succeeds. When the server PID exits first, or SECS pass, print LOG and
# exit 1 (WHERE says where it should have answered).
lib_wait_ready() {
	local secs=$1 pid=$2 logfile=$3 where=$4
	shift 4
	local deadline=$((SECONDS + secs))
	while ((SECONDS < deadline)); do
		if "$@" 2>/dev/null; then return 0; fi
		if ! lib_running "$pid"; then
			log "server exited during start:"
			cat "$logfile" >&2
			exit 1
		fi
		sleep 0.05
	done
	log "server did not become ready on $where in ${secs}s:"
	cat "$logfile" >&2
	exit 1
}

# lib_port_open HOST PORT: something accepts TCP connections there.
lib_port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# lib_http_ok URL: URL answers 2xx within 2 s.
lib_http_ok() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

# lib_apt_install VERSION PKG...: install Debian's PKGs, each at VERSION
# (a source package's binaries: nginx and nginx-common), without
# recommends. When the archive no longer has that version (it keeps only
# the newest security release), their current version, with a warning.
lib_apt_install() {
	local version=$1 sudo=() pinned=() p
	shift
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	for p in "$@"; do pinned+=("$p=$version"); done
	local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends)
	log "installing $* from Debian packages ..."
	if "${apt[@]}" "${pinned[@]}" >&2; then return; fi
	"${sudo[@]}" apt-get update -q >&2
	if "${apt[@]}" "${pinned[@]}" >&2; then return; fi
	log "WARNING: $* $version not in the archive; installing the current version"
	"${apt[@]}" "$@" >&2
}

# lib_deb_check PKG VERSION: print the installed version of PKG, warning
# when it is not VERSION.
lib_deb_check() {
	local have
	have=$(dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown)
	if [[ $have != "$2" ]]; then
		log "WARNING: $1 $have installed; versions.env expects $2"
	fi
	echo "$have"
}

# lib_print_exports VAR...: lines a shell can eval to get the same values.
lib_print_exports() {
	local v
	for v in "$@"; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
}

# lib_run_cmd LOGNAME LOG CMD...: run CMD; when it fails, print the last
# 50 lines of the server log LOG (named LOGNAME); exit with CMD's status.
lib_run_cmd() {
	local name=$1 logfile=$2 rc
	shift 2
	if [[ $# -eq 0 ]]; then
		log "nothing to run after --"
		exit 2
	fi
	set +e
	"$@"
	rc=$?
	set -e
	if [[ $rc -ne 0 && -s $logfile ]]; then
		echo "---- $name log (last 50 lines) ----" >&2
		tail -n 50 "$logfile" >&2 2>/dev/null || true
	fi
	exit "$rc"
}

# lib_run_or_print LOGNAME LOG "VAR..." [-- CMD [ARGS]]: with CMD,
# lib_run_cmd it (and exit); without, print the exports of the VARs (a
# space-separated list) for another shell, and return.
lib_run_or_print() {
	local name=$1 logfile=$2 vars
	read -r -d "" -a vars <<<"$3" || true
	shift 3
	if [[ ${1:-} == "--" ]]; then
		shift
		lib_run_cmd "$name" "$logfile" "$@"
	fi
	lib_print_exports "${vars[@]}"
}
