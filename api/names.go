package api

import "errors"

// checkName accepts a name of a registry endpoint, a replication policy or
// a scanner registration: 1 to 64 letters, digits, '-', '_', '.'. (Webhook
// policy names are webhook.Validate's to check.)
func checkName(s string) error {
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
