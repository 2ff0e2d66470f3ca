#!/usr/bin/env bash
# Regenerate rootfs/rocky-9/var/lib/rpm/rpmdb.sqlite, the RPM database of
# the scanner's Rocky Linux 9 fixture: rpmbuild makes empty packages with
# the names, epochs, versions, releases and source RPMs of Rocky Linux 9.3's
# openssl-libs and zlib, and rpm records them (--justdb) in a fresh sqlite
# database. Needs rpm and rpmbuild (Debian's package rpm). The database is
# committed; the tests do not run this.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DB="$HERE/rootfs/rocky-9/var/lib/rpm"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK"/{SPECS,RPMS,BUILD,BUILDROOT,SRPMS,SOURCES}

spec() { # name epoch version release summary license [subpackage]
	local name=$1 epoch=$2 version=$3 release=$4 summary=$5 license=$6 sub=${7:-}
	{
		echo "Name: $name"
		[[ $epoch == 0 ]] || echo "Epoch: $epoch"
		echo "Version: $version"
		echo "Release: $release"
		echo "Summary: $summary"
		echo "License: $license"
		echo "%description"
		echo "$summary (a Berth test fixture: no files)."
		if [[ -n $sub ]]; then
			echo "%package $sub"
			echo "Summary: $summary"
			echo "%description $sub"
			echo "$summary (a Berth test fixture: no files)."
			echo "%files $sub"
		else
			echo "%files"
		fi
	} >"$WORK/SPECS/$name.spec"
	rpmbuild --quiet -bb --target x86_64 --define "_topdir $WORK" --define "dist .el9" "$WORK/SPECS/$name.spec"
}
spec openssl 1 3.0.7 24.el9 "A general purpose cryptography library with TLS implementation" "ASL 2.0" libs
spec zlib 0 1.2.11 40.el9 "Compression and decompression library" zlib

rm -rf "$DB"
mkdir -p "$DB"
rpmdb=(rpm --dbpath "$DB" --define "_db_backend sqlite")
"${rpmdb[@]}" --initdb 2>/dev/null
"${rpmdb[@]}" -i --justdb --nodeps --noscripts --ignorearch --ignoreos \
	"$WORK"/RPMS/x86_64/openssl-libs-3.0.7-24.el9.x86_64.rpm "$WORK"/RPMS/x86_64/zlib-1.2.11-40.el9.x86_64.rpm 2>/dev/null
# One self-contained file: no write-ahead log, no lock file, no free pages.
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=DELETE"); c.execute("VACUUM"); c.close()' "$DB/rpmdb.sqlite"
rm -f "$DB/.rpm.lock" "$DB/rpmdb.sqlite-shm" "$DB/rpmdb.sqlite-wal"
"${rpmdb[@]}" -qa --qf '%{NAME} %{EPOCH} %{VERSION}-%{RELEASE} %{SOURCERPM}\n'
