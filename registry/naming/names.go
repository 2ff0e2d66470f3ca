package naming

import (
	"errors"
	"fmt"
	"regexp"
)

// CheckName checks the name a user gives a resource of the registry's own
// (a webhook or replication policy, a registry endpoint, a scanner
// registration) or a metadata record kind: 1 to 64 ASCII letters, digits,
// '-', '_' and '.', but not "." or "..". The error says what is wrong;
// callers name the field.
func CheckName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("1 to 64 characters")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errors.New("only letters, digits, '-', '_' and '.'")
		}
	}
	if s == "." || s == ".." {
		// No URL path can address them: clients and muxes clean dot
		// segments away, so what is stored under one is out of reach.
		return errors.New("'.' and '..' are not names")
	}
	return nil
}

// MaxRepositoryLength is the longest repository name accepted.
const MaxRepositoryLength = 255

var (
	nameComponent = `[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*`
	repositoryRE  = regexp.MustCompile(`^` + nameComponent + `(?:/` + nameComponent + `)*$`)
	tagRE         = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// CheckRepository checks a repository name against the distribution
// specification's grammar (lower-case path components separated by
// '/', at most MaxRepositoryLength characters); the error says what is
// wrong.
func CheckRepository(name string) error {
	if len(name) == 0 || len(name) > MaxRepositoryLength {
		return fmt.Errorf("repository name must be 1 to %d characters", MaxRepositoryLength)
	}
	if !repositoryRE.MatchString(name) {
		return fmt.Errorf("repository name %q is not valid", name)
	}
	return nil
}

// CheckTag checks a tag against the distribution specification's
// grammar.
func CheckTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q is not valid", tag)
	}
	return nil
}
