#!/usr/bin/env bash
# Run OpenLDAP's slapd (Debian's package, installed on demand) on a loopback
# port with a throw-away database seeded with users and groups, for the LDAP
# authenticator's tests.
#
# Usage:
#   scripts/slapd.sh              # serve, print the exports, wait for ^C
#   scripts/slapd.sh -- CMD ARGS  # serve, run CMD, stop; exit with CMD's status
#
# CMD sees:
#   BERTH_SLAPD_URL            ldap://127.0.0.1:PORT
#   BERTH_SLAPD_BASE_DN        dc=berth,dc=test
#   BERTH_SLAPD_BIND_DN        cn=reader,dc=berth,dc=test (a search-only account)
#   BERTH_SLAPD_BIND_PASSWORD  its password
# Seeded: ou=people with alice (password alice-password, groups devs and
# admins), bob (bob-password, group devs), carol (carol-password, no group),
# and "eve*)(uid=*" (an awkward name, password eve-password); ou=groups with
# groupOfNames devs and admins.
set -euo pipefail

log() { echo "slapd.sh: $*" >&2; }

if ! command -v slapd >/dev/null 2>&1 && [[ ! -x /usr/sbin/slapd ]]; then
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	log "installing slapd from Debian packages ..."
	if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd >&2; then
		$sudo apt-get update -q >&2
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd >&2
	fi
fi
SLAPD=$(command -v slapd || echo /usr/sbin/slapd)
SLAPADD=$(command -v slapadd || echo /usr/sbin/slapadd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-slapd.XXXXXX")
PID=""
cleanup() {
	[[ -z $PID ]] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + RANDOM % 20000)))
BASE="dc=berth,dc=test"
READER_PW="reader-password"
mkdir -p "$WORK/db"
cat >"$WORK/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $WORK/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "$BASE"
rootdn "cn=root,$BASE"
rootpw root-password
directory $WORK/db
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="cn=reader,$BASE" read by self read by * none
CONF
cat >"$WORK/seed.ldif" <<LDIF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: berth
o: Berth tests

dn: cn=reader,$BASE
objectClass: person
objectClass: simpleSecurityObject
cn: reader
sn: reader
userPassword: $READER_PW

dn: ou=people,$BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$BASE
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,$BASE
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mail: alice@berth.test
userPassword: alice-password

dn: uid=bob,ou=people,$BASE
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
userPassword: bob-password

dn: uid=carol,ou=people,$BASE
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C
userPassword: carol-password

dn: uid=eve*\29\28uid=*,ou=people,$BASE
objectClass: inetOrgPerson
uid: eve*)(uid=*
cn: Eve
sn: E
userPassword: eve-password

dn: cn=devs,ou=groups,$BASE
objectClass: groupOfNames
cn: devs
member: uid=alice,ou=people,$BASE
member: uid=bob,ou=people,$BASE

dn: cn=admins,ou=groups,$BASE
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,$BASE
LDIF
"$SLAPADD" -q -f "$WORK/slapd.conf" -l "$WORK/seed.ldif" >"$WORK/slapadd.log" 2>&1 ||
	{ cat "$WORK/slapadd.log" >&2; log "seeding failed"; exit 1; }
"$SLAPD" -d 0 -h "ldap://127.0.0.1:$PORT/" -f "$WORK/slapd.conf" >"$WORK/slapd.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	kill -0 "$PID" 2>/dev/null || { cat "$WORK/slapd.log" >&2; log "slapd exited"; exit 1; }
	sleep 0.05
done
export BERTH_SLAPD_URL="ldap://127.0.0.1:$PORT" BERTH_SLAPD_BASE_DN="$BASE"
export BERTH_SLAPD_BIND_DN="cn=reader,$BASE" BERTH_SLAPD_BIND_PASSWORD="$READER_PW"
log "slapd $("$SLAPD" -VV 2>&1 | head -1 | awk '{print $4}') ready at $BERTH_SLAPD_URL (base $BASE)"

if [[ ${1:-} == -- ]]; then
	shift
	rc=0
	"$@" || rc=$?
	exit "$rc"
fi
for v in BERTH_SLAPD_URL BERTH_SLAPD_BASE_DN BERTH_SLAPD_BIND_DN BERTH_SLAPD_BIND_PASSWORD; do
	printf 'export %s=%q\n' "$v" "${!v}"
done
log "serving until interrupted"
wait "$PID"
