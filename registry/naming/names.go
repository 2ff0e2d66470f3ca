package naming

import "errors"

// CheckName checks the name a user gives a resource of the registry's own
// (a webhook or replication policy, a registry endpoint, a scanner
// registration) or a metadata record kind: 1 to 64 ASCII letters, digits,
// '-', '_' and '.'. The error says what is wrong; callers name the field.
func CheckName(s string) error {
	if s == "" || len(s) > 64 {
		return errors.New("1 to 64 characters")
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errors.New("only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}
