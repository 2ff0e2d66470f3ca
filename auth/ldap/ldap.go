package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/berthreg/berth/auth"
)

// Config configures an Authenticator. URL, BaseDN are required.
type Config struct {
	// URL is the directory, "ldap://host:389" or "ldaps://host:636".
	URL string
	// StartTLS upgrades an ldap:// connection with StartTLS.
	StartTLS bool
	// TLS configures ldaps:// and StartTLS (nil: system roots).
	TLS *tls.Config
	// BindDN and BindPassword are the search account; empty binds
	// anonymously for the search.
	BindDN       string
	BindPassword string
	// BaseDN is where users are searched (subtree).
	BaseDN string
	// UserFilter selects the user; "%s" is replaced by the escaped login
	// name. Default "(uid=%s)"; Active Directory uses
	// "(sAMAccountName=%s)".
	UserFilter string
	// GroupBaseDN is where groups are searched (default BaseDN).
	GroupBaseDN string
	// GroupFilter selects the user's groups; "%s" is replaced by the
	// escaped user DN. Default "(member=%s)".
	GroupFilter string
	// GroupAttribute names a group (default "cn").
	GroupAttribute string
	// AdminGroup, when set, makes members of that group system
	// administrators.
	AdminGroup string
	// Timeout bounds each directory operation (default 10s).
	Timeout time.Duration
}

// Authenticator checks credentials against a directory.
type Authenticator struct {
	cfg Config
}

var _ auth.Authenticator = (*Authenticator)(nil)

// New validates cfg and returns an Authenticator. It does not connect.
func New(cfg Config) (*Authenticator, error) {
	switch {
	case cfg.URL == "":
		return nil, errors.New("ldap: URL: required")
	case !strings.HasPrefix(cfg.URL, "ldap://") && !strings.HasPrefix(cfg.URL, "ldaps://"):
		return nil, fmt.Errorf("ldap: URL: %q is not ldap:// or ldaps://", cfg.URL)
	case cfg.BaseDN == "":
		return nil, errors.New("ldap: BaseDN: required")
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(uid=%s)"
	}
	if cfg.GroupFilter == "" {
		cfg.GroupFilter = "(member=%s)"
	}
	for name, f := range map[string]string{"UserFilter": cfg.UserFilter, "GroupFilter": cfg.GroupFilter} {
		if strings.Count(f, "%s") != 1 {
			return nil, fmt.Errorf("ldap: %s: %q must contain %%s once", name, f)
		}
		if _, err := ldap.CompileFilter(strings.Replace(f, "%s", "x", 1)); err != nil {
			return nil, fmt.Errorf("ldap: %s: %w", name, err)
		}
	}
	if cfg.GroupBaseDN == "" {
		cfg.GroupBaseDN = cfg.BaseDN
	}
	if cfg.GroupAttribute == "" {
		cfg.GroupAttribute = "cn"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	return &Authenticator{cfg: cfg}, nil
}

// dial connects (and upgrades with StartTLS when configured).
func (a *Authenticator) dial() (*ldap.Conn, error) {
	var opts []ldap.DialOpt
	if a.cfg.TLS != nil {
		opts = append(opts, ldap.DialWithTLSConfig(a.cfg.TLS))
	}
	c, err := ldap.DialURL(a.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("ldap: connect: %w", err)
	}
	c.SetTimeout(a.cfg.Timeout)
	if a.cfg.StartTLS {
		tc := a.cfg.TLS
		if tc == nil {
			tc = &tls.Config{}
		}
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, fmt.Errorf("ldap: StartTLS: %w", err)
		}
	}
	return c, nil
}

// Authenticate implements auth.Authenticator.
func (a *Authenticator) Authenticate(ctx context.Context, name, secret string) (auth.Principal, error) {
	// An empty password would make the user bind "unauthenticated", which
	// many directories accept: never let it through.
	if name == "" || secret == "" {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	if err := ctx.Err(); err != nil {
		return auth.Principal{}, err
	}
	c, err := a.dial()
	if err != nil {
		return auth.Principal{}, err
	}
	defer c.Close()
	if err := a.bindSearcher(c); err != nil {
		return auth.Principal{}, err
	}
	res, err := c.Search(ldap.NewSearchRequest(a.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		fmt.Sprintf(a.cfg.UserFilter, ldap.EscapeFilter(name)), []string{"dn"}, nil))
	if err != nil {
		return auth.Principal{}, fmt.Errorf("ldap: user search: %w", err)
	}
	if len(res.Entries) != 1 {
		// Unknown, or ambiguous: never guess which account is meant.
		return auth.Principal{}, fmt.Errorf("ldap: %d entries for %q: %w", len(res.Entries), name, auth.ErrBadCredentials)
	}
	dn := res.Entries[0].DN
	if err := c.Bind(dn, secret); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return auth.Principal{}, fmt.Errorf("ldap: %q: %w", name, auth.ErrBadCredentials)
		}
		return auth.Principal{}, fmt.Errorf("ldap: user bind: %w", err)
	}
	// Read groups with the search account, not the user's rights.
	if err := a.bindSearcher(c); err != nil {
		return auth.Principal{}, err
	}
	gres, err := c.Search(ldap.NewSearchRequest(a.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf(a.cfg.GroupFilter, ldap.EscapeFilter(dn)), []string{a.cfg.GroupAttribute}, nil))
	if err != nil {
		return auth.Principal{}, fmt.Errorf("ldap: group search: %w", err)
	}
	p := auth.Principal{Name: name, Kind: auth.User}
	for _, e := range gres.Entries {
		if g := e.GetAttributeValue(a.cfg.GroupAttribute); g != "" && !slices.Contains(p.Groups, g) {
			p.Groups = append(p.Groups, g)
		}
	}
	slices.Sort(p.Groups)
	p.Admin = a.cfg.AdminGroup != "" && slices.Contains(p.Groups, a.cfg.AdminGroup)
	return p, nil
}

// bindSearcher binds as the search account (or anonymously).
func (a *Authenticator) bindSearcher(c *ldap.Conn) error {
	var err error
	if a.cfg.BindDN == "" {
		err = c.UnauthenticatedBind("")
	} else {
		err = c.Bind(a.cfg.BindDN, a.cfg.BindPassword)
	}
	if err != nil {
		return fmt.Errorf("ldap: search account bind: %w", err)
	}
	return nil
}
