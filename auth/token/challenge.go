package token

import (
	"strings"

	"github.com/berthreg/berth/auth"
)

// Challenge renders the WWW-Authenticate value that sends a client to the
// token endpoint at realm for service, asking for scopes; errCode, when not
// "", is the RFC 6750 error ("invalid_token", "insufficient_scope").
func Challenge(realm, service string, scopes []auth.Access, errCode string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quote(realm))
	b.WriteString(`",service="`)
	b.WriteString(quote(service))
	b.WriteByte('"')
	if len(scopes) > 0 {
		parts := make([]string, len(scopes))
		for i, s := range scopes {
			parts[i] = s.String()
		}
		b.WriteString(`,scope="`)
		b.WriteString(quote(strings.Join(parts, " ")))
		b.WriteByte('"')
	}
	if errCode != "" {
		b.WriteString(`,error="`)
		b.WriteString(quote(errCode))
		b.WriteByte('"')
	}
	return b.String()
}

// quote escapes the characters a quoted-string cannot hold as they are.
func quote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}
