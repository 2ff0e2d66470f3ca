package auth

// Identity is who an external identity provider (an OpenID Connect
// provider) says signed in, for the account store to map to an account.
type Identity struct {
	// Subject is the provider's stable id for the person ("sub").
	Subject string
	// Username is the account name to use at the first sign-in.
	Username string
	// Email and FullName describe the person.
	Email, FullName string
	// Groups are the person's groups at the provider.
	Groups []string
	// Admin, when set, makes the account a system administrator or not
	// (the provider's admin group decides); nil leaves the flag alone.
	Admin *bool
}
