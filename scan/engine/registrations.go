package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/scan"
)

// pingTimeout bounds a call that asks a scanner what it is (Ping,
// Metadata).
const pingTimeout = 30 * time.Second

// ScannerSpec is a scanner registration as a caller writes it: what
// Create, Update and Engine.Ping take.
type ScannerSpec struct {
	// Name identifies the registration: 1 to 64 letters, digits, '-',
	// '_' and '.', not a built-in scanner's.
	Name string
	// Description says what the scanner is, for people.
	Description string
	// URL is the adapter's base address, http or https.
	URL string
	// Auth is "" (none), "Basic", "Bearer" or "X-ScannerAdapter-API-Key".
	Auth string
	// AccessCredential is the secret Auth needs; nil keeps the stored
	// one (Update, Ping of a stored name) or means none (Create).
	AccessCredential *string
	// SkipCertVerify, UseInternalAddr and Disabled are the
	// registration's (see ScannerRegistration).
	SkipCertVerify, UseInternalAddr, Disabled bool
	// Default makes the registration the default scanner (Create,
	// Update).
	Default bool
}

// apply sets rec from the spec, all but the name.
func (s ScannerSpec) apply(rec *ScannerRegistration) {
	rec.Description, rec.URL, rec.Auth = s.Description, s.URL, s.Auth
	rec.SkipCertVerify, rec.UseInternalAddr, rec.Disabled = s.SkipCertVerify, s.UseInternalAddr, s.Disabled
	if s.AccessCredential != nil {
		rec.AccessCredential = *s.AccessCredential
	}
}

// ScannerEntry is a scanner as the services show it: a built-in one or
// a registration, without its credential (secrets are write-only).
type ScannerEntry struct {
	ScannerRegistration
	// BuiltIn marks a scanner built into the host (only Name is set).
	BuiltIn bool
	// Default marks the default scanner.
	Default bool
}

// Registrations is the service of the scanner registrations: their
// rules (names, addresses, authentication, the default) for every
// caller, Go or HTTP, each operation in a transaction of its own. Get it
// from Engine.Registrations. Errors match ErrInvalid (a *FieldError),
// ErrExists, ErrInUse, ErrBuiltin, and ErrUnknownScanner with
// meta.ErrNotFound for a name that is neither built in nor registered.
type Registrations struct{ e *Engine }

// Registrations returns the service of the engine's scanner
// registrations.
func (e *Engine) Registrations() *Registrations { return &Registrations{e: e} }

// entryTx is the entry of the scanner named, def being the default.
func (e *Engine) entryTx(tx meta.Tx, name, def string) (ScannerEntry, error) {
	if _, ok := e.builtin[name]; ok {
		return ScannerEntry{ScannerRegistration: ScannerRegistration{Name: name}, BuiltIn: true, Default: name == def}, nil
	}
	rec, err := Scanners.In(tx).Get(name)
	if err != nil {
		return ScannerEntry{}, scannerNotFound(name, err)
	}
	return entryOf(rec, def), nil
}

// entryOf is the entry of a registration, its credential left out.
func entryOf(rec ScannerRegistration, def string) ScannerEntry {
	rec.AccessCredential = ""
	return ScannerEntry{ScannerRegistration: rec, Default: rec.Name == def}
}

// List returns the built-in scanners, in name order, then the
// registrations, in name order.
func (s *Registrations) List(ctx context.Context) ([]ScannerEntry, error) {
	var list []ScannerEntry
	err := s.e.store.View(ctx, func(tx meta.Tx) error {
		list = nil
		def, err := s.e.defaultScanner(tx)
		if err != nil {
			return err
		}
		for _, b := range s.e.builtinNames() {
			e, _ := s.e.entryTx(tx, b, def)
			list = append(list, e)
		}
		recs, err := Scanners.In(tx).List("", 0)
		for _, rec := range recs {
			list = append(list, entryOf(rec, def))
		}
		return err
	})
	return list, err
}

// Get returns the scanner named, built in or registered.
func (s *Registrations) Get(ctx context.Context, name string) (ScannerEntry, error) {
	var out ScannerEntry
	err := s.e.store.View(ctx, func(tx meta.Tx) error {
		def, err := s.e.defaultScanner(tx)
		if err != nil {
			return err
		}
		out, err = s.e.entryTx(tx, name, def)
		return err
	})
	return out, err
}

// Create stores a new registration (made the default with
// spec.Default).
func (s *Registrations) Create(ctx context.Context, spec ScannerSpec) error {
	if err := checkName(spec.Name); err != nil {
		return err
	}
	rec := ScannerRegistration{Name: spec.Name}
	spec.apply(&rec)
	if err := s.e.check(rec); err != nil {
		return err
	}
	now := time.Now().UTC()
	rec.CreatedAt, rec.UpdatedAt = now, now
	return s.e.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Scanners.In(tx).Get(rec.Name); err == nil {
			return fail("scanner "+rec.Name+" exists", ErrExists)
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		if err := Scanners.In(tx).Put(rec); err != nil {
			return err
		}
		if spec.Default {
			return s.e.setDefaultTx(tx, rec.Name)
		}
		return nil
	})
}

// Update replaces the registration spec.Name with spec (but for a nil
// AccessCredential, which keeps the stored one), and makes it the
// default with spec.Default.
func (s *Registrations) Update(ctx context.Context, spec ScannerSpec) error {
	name := spec.Name
	if _, ok := s.e.builtin[name]; ok {
		return invalid("name", "%s is built in and cannot be changed", name)
	}
	return s.e.store.Update(ctx, func(tx meta.Tx) error {
		rec, err := Scanners.In(tx).Get(name)
		if err != nil {
			return scannerNotFound(name, err)
		}
		spec.apply(&rec)
		if err := s.e.check(rec); err != nil {
			return err
		}
		rec.UpdatedAt = time.Now().UTC()
		if err := Scanners.In(tx).Put(rec); err != nil {
			return err
		}
		if spec.Default {
			return s.e.setDefaultTx(tx, name)
		}
		return nil
	})
}

// Delete removes the registration named and returns it. Built-in
// scanners (ErrBuiltin) and the default (ErrInUse) stay.
func (s *Registrations) Delete(ctx context.Context, name string) (ScannerEntry, error) {
	if _, ok := s.e.builtin[name]; ok {
		return ScannerEntry{}, fail("scanner "+name+" is built in", ErrBuiltin)
	}
	var out ScannerEntry
	err := s.e.store.Update(ctx, func(tx meta.Tx) error {
		rec, err := Scanners.In(tx).Get(name)
		if err != nil {
			return scannerNotFound(name, err)
		}
		def, err := s.e.defaultScanner(tx)
		if err != nil {
			return err
		}
		if def == name {
			return fail("scanner "+name+" is the default; make another the default first", ErrInUse)
		}
		out = entryOf(rec, def)
		return Scanners.In(tx).Delete(name)
	})
	return out, err
}

// SetDefault makes the scanner named, built in or registered, the
// default.
func (s *Registrations) SetDefault(ctx context.Context, name string) error {
	return s.e.store.Update(ctx, func(tx meta.Tx) error { return s.e.setDefaultTx(tx, name) })
}

// ForProject returns the scanner project uses: its own choice, else the
// default.
func (s *Registrations) ForProject(ctx context.Context, project string) (ScannerEntry, error) {
	var out ScannerEntry
	err := s.e.store.View(ctx, func(tx meta.Tx) error {
		p, err := accounts.Projects.In(tx).Get(project)
		if err != nil {
			return projectNotFound(project, err)
		}
		def, err := s.e.defaultScanner(tx)
		if err != nil {
			return err
		}
		name := p.Scan.Scanner
		if name == "" {
			name = def
		}
		if name == "" {
			return fail("project "+project+" has no scanner: none is configured", ErrUnknownScanner, meta.ErrNotFound)
		}
		out, err = s.e.entryTx(tx, name, def)
		return err
	})
	return out, err
}

// SetForProject makes project use the scanner named ("": the default).
// An unknown name is a *FieldError naming "uuid" (Harbor's field).
func (s *Registrations) SetForProject(ctx context.Context, project, name string) error {
	return s.e.store.Update(ctx, func(tx meta.Tx) error {
		if name != "" {
			if _, err := s.e.entryTx(tx, name, ""); errors.Is(err, ErrUnknownScanner) {
				return invalid("uuid", "scanner %q not found", name)
			} else if err != nil {
				return err
			}
		}
		return updateProject(tx, project, func(ps *accounts.ProjectScan) { ps.Scanner = name })
	})
}

// Metadata asks the scanner named (built in or registered) what it is
// and can do; one that does not answer in time is ErrUnavailable.
func (e *Engine) Metadata(ctx context.Context, name string) (scan.Metadata, error) {
	err := e.store.View(ctx, func(tx meta.Tx) error {
		_, err := e.entryTx(tx, name, "")
		return err
	})
	if err != nil {
		return scan.Metadata{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	r, err := e.resolve(ctx, name)
	var md scan.Metadata
	if err == nil {
		md, err = r.scanner.Metadata(ctx)
	}
	if err != nil {
		return md, fail("scanner "+name+": "+err.Error(), ErrUnavailable, err)
	}
	return md, nil
}

// Ping checks a registration (stored or not: spec.Name's stored fields
// are the base, and a nil AccessCredential keeps the stored one) and
// asks its adapter for its metadata. An adapter that does not answer is
// a *FieldError naming "url".
func (e *Engine) Ping(ctx context.Context, spec ScannerSpec) (scan.Metadata, error) {
	rec := ScannerRegistration{Name: spec.Name}
	if rec.Name != "" {
		err := e.store.View(ctx, func(tx meta.Tx) error {
			old, err := Scanners.In(tx).Get(rec.Name)
			if err == nil {
				rec = old
			}
			return err
		})
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return scan.Metadata{}, err
		}
	}
	spec.apply(&rec)
	if rec.Name == "" {
		rec.Name = "ping"
	}
	if err := e.check(rec); err != nil {
		return scan.Metadata{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	md, err := e.ping(ctx, rec)
	if err != nil {
		return md, &FieldError{Field: "url", Problem: "the scanner adapter did not answer: " + err.Error(), Err: err}
	}
	return md, nil
}

// ping asks a registration's adapter for its metadata, unchecked.
func (e *Engine) ping(ctx context.Context, rec ScannerRegistration) (scan.Metadata, error) {
	c, err := Client(rec, e.guard)
	if err != nil {
		return scan.Metadata{}, err
	}
	return c.Metadata(ctx)
}

// checkName accepts a registration name (naming.CheckName's rule), else
// a *FieldError about "name".
func checkName(s string) error {
	if err := naming.CheckName(s); err != nil {
		return invalid("name", "%v", err)
	}
	return nil
}

// check reports what is wrong with a registration: a *FieldError
// naming the field.
func (e *Engine) check(rec ScannerRegistration) error {
	if rec.Name == "" {
		return invalid("name", "required")
	}
	for _, f := range []struct{ field, value string }{{"name", rec.Name}, {"description", rec.Description}, {"url", rec.URL}} {
		if !utf8.ValidString(f.value) {
			return invalid(f.field, "is not valid UTF-8")
		}
	}
	if _, ok := e.builtin[rec.Name]; ok {
		return invalid("name", "%q is a built-in scanner", rec.Name)
	}
	u, err := url.Parse(rec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("url", "%q is not an http or https URL", rec.URL)
	}
	if err := e.guard.CheckHost(u.Hostname()); err != nil {
		return &FieldError{Field: "url", Problem: err.Error() + "; an operator may allow it (outbound allow-list)", Err: err}
	}
	switch strings.ToLower(rec.Auth) {
	case "", "basic", "bearer", "x-scanneradapter-api-key":
	default:
		return invalid("auth", "%q is not \"\", Basic, Bearer or X-ScannerAdapter-API-Key", rec.Auth)
	}
	if rec.Auth != "" && rec.AccessCredential == "" {
		return invalid("access_credential", "required with auth %s", rec.Auth)
	}
	return nil
}

// updateProject changes project's scanning settings in tx.
func updateProject(tx meta.Tx, project string, change func(*accounts.ProjectScan)) error {
	p, err := accounts.Projects.In(tx).Get(project)
	if err != nil {
		return projectNotFound(project, err)
	}
	change(&p.Scan)
	p.UpdatedAt = time.Now().UTC()
	if err := accounts.Projects.In(tx).Put(p); err != nil {
		return fmt.Errorf("scan: project %s: %w", project, err)
	}
	return generation.Bump(tx, ProjectScanGeneration)
}
