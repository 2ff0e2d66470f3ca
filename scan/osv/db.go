package osv

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/osv-scalibr/semantic"

	"github.com/berthreg/berth/scan"
)

// maxRecord bounds one OSV record.
const maxRecord = 16 << 20

// DB is an offline OSV database: advisories indexed by ecosystem and
// package name.
type DB struct {
	byPackage map[string][]int // key(ecosystem, name) → advisories
	all       []Advisory
	source    string
	loadedAt  time.Time
}

func key(ecosystem, name string) string {
	eco, _, _ := strings.Cut(ecosystem, ":")
	return eco + "\x00" + name
}

// Add indexes an advisory.
func (db *DB) Add(a Advisory) {
	if db.byPackage == nil {
		db.byPackage = map[string][]int{}
	}
	db.all = append(db.all, a)
	seen := map[string]bool{}
	for _, af := range a.Affected {
		k := key(af.Package.Ecosystem, af.Package.Name)
		if !seen[k] {
			seen[k] = true
			db.byPackage[k] = append(db.byPackage[k], len(db.all)-1)
		}
	}
}

// Len is how many advisories the database holds.
func (db *DB) Len() int { return len(db.all) }

// Source is the path Load read the database from ("" for a database
// built with Add).
func (db *DB) Source() string { return db.source }

// LoadedAt is when Load finished reading the database (zero for a
// database built with Add).
func (db *DB) LoadedAt() time.Time { return db.loadedAt }

// Load reads every *.json record under path: a directory (walked) or a
// zip archive (as OSV publishes per ecosystem).
func Load(path string) (*DB, error) {
	db := &DB{source: path}
	defer func() { db.loadedAt = time.Now() }()
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, fmt.Errorf("osv: %w", err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, ".json") {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("osv: %s: %w", f.Name, err)
			}
			err = db.read(f.Name, rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
		return db, nil
	}
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("osv: %w", err)
		}
		defer f.Close()
		return db.read(p, f)
	})
	return db, err
}

func (db *DB) read(name string, r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, maxRecord+1))
	if err != nil {
		return fmt.Errorf("osv: %s: %w", name, err)
	}
	if len(b) > maxRecord {
		return fmt.Errorf("osv: %s: larger than %d bytes", name, maxRecord)
	}
	a, err := Parse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	db.Add(a)
	return nil
}

// Package is an installed package to match.
type Package struct {
	// Ecosystem is OSV's ("Debian:12", "Alpine:v3.20", "Go").
	Ecosystem string
	Name      string
	Version   string
}

// Match returns the vulnerabilities of p: one per advisory affecting its
// version, with the lowest fixed version above it, if any. Versions are
// compared by osv-scalibr's rules for the ecosystem. Withdrawn records
// match nothing.
//
// A distribution's per-CVE record ("DEBIAN-CVE-2023-4911",
// "ALPINE-CVE-2023-5363") is reported under the CVE's id, as Harbor, its
// CVE allowlists and other scanners name it; the record's id is kept in
// VendorAttributes["osv_id"]. Severity and CVSS are as assess rates them
// (see the package documentation).
//
// An advisory whose versions cannot be compared with p's is skipped: the
// error returned names it, along with what did match.
func (db *DB) Match(p Package) ([]scan.Vulnerability, error) {
	var out []scan.Vulnerability
	var errs []error
	for _, i := range db.byPackage[key(p.Ecosystem, p.Name)] {
		a := db.all[i]
		if a.Withdrawn != "" {
			continue
		}
		for _, af := range a.Affected {
			if key(af.Package.Ecosystem, af.Package.Name) != key(p.Ecosystem, p.Name) || !sameRelease(af.Package.Ecosystem, p.Ecosystem) {
				continue
			}
			hit, fix, err := affects(af, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("osv: %s for %s %s: %w", a.ID, p.Name, p.Version, err))
				continue
			}
			if !hit {
				continue
			}
			out = append(out, vulnerability(a, af, p, fix))
			break
		}
	}
	return out, errors.Join(errs...)
}

// sameRelease: an advisory for one release ("Debian:12") matches only
// that release; one without a release matches all.
func sameRelease(advisory, installed string) bool {
	_, ar, aok := strings.Cut(advisory, ":")
	_, ir, _ := strings.Cut(installed, ":")
	return !aok || ar == ir
}

// affects applies OSV's range rules to p's version.
func affects(af Affected, p Package) (bool, string, error) {
	for _, v := range af.Versions {
		if v == p.Version {
			return true, "", nil
		}
	}
	installed, err := semantic.Parse(p.Version, p.Ecosystem)
	if err != nil {
		return false, "", err
	}
	cmp := func(s string) (int, error) { // installed vs s
		if s == "0" {
			return 1, nil
		}
		return installed.CompareStr(s)
	}
	for _, r := range af.Ranges {
		if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
			continue
		}
		events, err := sortEvents(r.Events, p.Ecosystem)
		if err != nil {
			return false, "", err
		}
		affected, fix := false, ""
		for _, e := range events {
			switch {
			case e.Introduced != "":
				c, err := cmp(e.Introduced)
				if err != nil {
					return false, "", err
				}
				if c >= 0 {
					affected = true
				}
			case e.Fixed != "":
				c, err := cmp(e.Fixed)
				if err != nil {
					return false, "", err
				}
				if c >= 0 {
					affected = false
				} else if affected && fix == "" {
					fix = e.Fixed
				}
			case e.LastAffected != "":
				c, err := cmp(e.LastAffected)
				if err != nil {
					return false, "", err
				}
				if c > 0 {
					affected = false
				}
			}
			if !affected && fix != "" {
				fix = "" // a fix below a later introduction does not apply
			}
		}
		if affected {
			return true, fix, nil
		}
	}
	return false, "", nil
}

// sortEvents orders a range's events by version ("0" first), as OSV's
// evaluation requires.
func sortEvents(events []Event, ecosystem string) ([]Event, error) {
	type keyed struct {
		e Event
		v semantic.Version // nil for "0"
	}
	ks := make([]keyed, 0, len(events))
	for _, e := range events {
		s := cmp.Or(e.Introduced, e.Fixed, e.LastAffected)
		if s == "0" {
			ks = append(ks, keyed{e: e})
			continue
		}
		v, err := semantic.Parse(s, ecosystem)
		if err != nil {
			return nil, err
		}
		ks = append(ks, keyed{e, v})
	}
	var cmpErr error
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.v == nil && b.v == nil:
			return 0
		case a.v == nil:
			return -1
		case b.v == nil:
			return 1
		}
		c, err := a.v.Compare(b.v)
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return c
	})
	out := make([]Event, len(ks))
	for i, k := range ks {
		out[i] = k.e
	}
	return out, cmpErr
}
