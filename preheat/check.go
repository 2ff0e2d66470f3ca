package preheat

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/registry/naming"
)

// checkName reports a name an instance or a policy cannot have:
// naming.CheckName's rule (1 to MaxNameLength letters, digits, '-', '_'
// and '.').
func checkName(name string) error {
	if err := naming.CheckName(name); err != nil {
		return invalid("name", "%v", err)
	}
	return nil
}

// checkDescription bounds a description.
func checkDescription(d string) error {
	if len(d) > MaxDescriptionLength {
		return invalid("description", "longer than %d bytes", MaxDescriptionLength)
	}
	return nil
}

// CheckPolicy reports what is wrong with a policy's own fields as a
// *FieldError (ErrInvalid) naming the field in Harbor's JSON terms: its
// name, description and project, that it names an instance (provider_id),
// its filters (doublestar patterns that compile, at most MaxLabels label
// names, a severity of scan's scale), its trigger (a known type; a cron
// the job runner reads for a scheduled one) and its scope. Whether the
// instance exists and is enabled, and the name is free, the Service
// checks against the store.
func CheckPolicy(p Policy) error {
	if err := checkName(p.Name); err != nil {
		return err
	}
	if err := checkDescription(p.Description); err != nil {
		return err
	}
	if err := naming.CheckRepository(p.Project); err != nil || strings.Contains(p.Project, "/") {
		return invalid("project", "%q is not a project name", p.Project)
	}
	if p.ProviderID <= 0 {
		return invalid("provider_id", "required: the id of a provider instance")
	}
	if err := checkFilters(p.Filters); err != nil {
		return err
	}
	switch p.Trigger.Type {
	case TriggerManual, TriggerEventBased:
	case TriggerScheduled:
		if p.Trigger.Settings.Cron == "" {
			return invalid("trigger.trigger_setting.cron", "required for a scheduled trigger")
		}
		if err := jobs.ValidSchedule(p.Trigger.Settings.Cron); err != nil {
			return invalid("trigger.trigger_setting.cron", "%q: %v (six fields, seconds first, or a descriptor such as @daily)",
				p.Trigger.Settings.Cron, err)
		}
	default:
		return invalid("trigger.type", "%q is not %s, %s or %s", p.Trigger.Type, TriggerManual, TriggerScheduled, TriggerEventBased)
	}
	switch p.Scope {
	case "", ScopeSinglePeer, ScopeAllPeers:
	default:
		return invalid("scope", "%q is not %s or %s", p.Scope, ScopeSinglePeer, ScopeAllPeers)
	}
	return nil
}

// checkFilters checks a policy's filters.
func checkFilters(f Filters) error {
	for _, pat := range [...]struct{ field, value string }{{"filters.repository", f.Repository}, {"filters.tag", f.Tag}} {
		switch {
		case len(pat.value) > MaxPatternLength:
			return invalid(pat.field, "longer than %d bytes", MaxPatternLength)
		case !doublestar.ValidatePattern(pat.value):
			return invalid(pat.field, "%q is not a valid doublestar pattern", pat.value)
		}
	}
	if len(f.Labels) > MaxLabels {
		return invalid("filters.label", "%d labels: at most %d", len(f.Labels), MaxLabels)
	}
	for i, l := range f.Labels {
		switch {
		case strings.TrimSpace(l) == "":
			return invalid("filters.label", "label %d is empty", i)
		case len(l) > MaxLabelLength:
			return invalid("filters.label", "label %d is longer than %d bytes", i, MaxLabelLength)
		}
	}
	if f.Vulnerability != "" && !f.Vulnerability.Valid() {
		return invalid("filters.vulnerability", "%q is not a severity (Unknown, Negligible, Low, Medium, High, Critical)", f.Vulnerability)
	}
	return nil
}

// normalized is p as it is stored: the default scope spelled out, a cron
// only on a scheduled trigger, no read-only field.
func normalized(p Policy) Policy {
	if p.Scope == "" {
		p.Scope = ScopeSinglePeer
	}
	if p.Trigger.Type != TriggerScheduled {
		p.Trigger.Settings = TriggerSettings{}
	}
	p.Filters.Labels = slices.Clone(p.Filters.Labels)
	p.ProviderName = ""
	return p
}

// authKeys are the keys of AuthInfo each mode uses, with whether each is
// a secret (write-only).
var authKeys = map[string]map[string]bool{
	AuthNone:  {},
	AuthBasic: {"username": false, "password": true},
	AuthOAuth: {"token": true},
}

// checkInstance reports what is wrong with an instance record as a
// *FieldError: its name and description, a registered vendor, an http(s)
// endpoint the outbound guard does not refuse outright, a known auth mode
// with exactly the credentials it uses, and a provider the vendor's
// factory makes from it. in must have been normalized (its auth mode
// spelled out).
func (s *Service) checkInstance(in Instance) error {
	if err := checkName(in.Name); err != nil {
		return err
	}
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	return s.checkReach(in)
}

// checkReach is the part of checkInstance that says how the instance is
// reached: what a ping of an instance not stored needs.
func (s *Service) checkReach(in Instance) error {
	f, ok := s.vendors[in.Vendor]
	if !ok {
		return invalid("vendor", "%q is not one of %v", in.Vendor, s.vendorNames())
	}
	if err := s.checkEndpoint(in.Endpoint); err != nil {
		return err
	}
	keys, ok := authKeys[in.AuthMode]
	if !ok {
		return invalid("auth_mode", "%q is not %s, %s or %s", in.AuthMode, AuthNone, AuthBasic, AuthOAuth)
	}
	for _, k := range slices.Sorted(maps.Keys(in.AuthInfo)) {
		if _, used := keys[k]; !used {
			return invalid("auth_info."+k, "not used by auth_mode %s (it uses %v)", in.AuthMode, slices.Sorted(maps.Keys(keys)))
		}
		if len(in.AuthInfo[k]) > MaxAuthValueLength {
			return invalid("auth_info."+k, "longer than %d bytes", MaxAuthValueLength)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if in.AuthInfo[k] == "" {
			return invalid("auth_info."+k, "required by auth_mode %s", in.AuthMode)
		}
	}
	if _, err := f(s.endpoint(in)); err != nil {
		return invalid("endpoint", "the %s provider refuses it: %w", in.Vendor, err)
	}
	return nil
}

// checkEndpoint checks an instance's URL: http or https, a host, no
// user, query or fragment, and no literal internal address the guard
// refuses (names are checked when dialed).
func (s *Service) checkEndpoint(endpoint string) error {
	if len(endpoint) > MaxEndpointLength {
		return invalid("endpoint", "longer than %d bytes", MaxEndpointLength)
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return invalid("endpoint", "%q is not an http(s)://host[:port] address", endpoint)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return invalid("endpoint", "%q must have no user, query or fragment", endpoint)
	}
	if err := s.guard.CheckHost(u.Hostname()); err != nil {
		return invalid("endpoint", "%w; an operator may allow it (outbound allow-list)", err)
	}
	return nil
}

// normalizedInstance is in as it is stored: the default auth mode
// spelled out, the endpoint without a trailing slash, its own map.
func normalizedInstance(in Instance) Instance {
	if in.AuthMode == "" {
		in.AuthMode = AuthNone
	}
	in.Endpoint = strings.TrimRight(in.Endpoint, "/")
	in.AuthInfo = maps.Clone(in.AuthInfo)
	if len(in.AuthInfo) == 0 {
		in.AuthInfo = nil
	}
	return in
}

// redacted is in without its secrets: what the Service returns.
func redacted(in Instance) Instance {
	keys := authKeys[in.AuthMode]
	var out map[string]string
	for k, v := range in.AuthInfo {
		if secret, used := keys[k]; used && !secret {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	in.AuthInfo = out
	return in
}

// keepSecrets fills the secrets that in leaves out from old, the stored
// instance, when in is reached at the same endpoint with the same auth
// mode; a secret is never sent to an endpoint it was not given for, so
// after a change of endpoint every secret must be given again.
func keepSecrets(in *Instance, old Instance) {
	if in.AuthMode != old.AuthMode || in.Endpoint != old.Endpoint {
		return
	}
	for k, secret := range authKeys[in.AuthMode] {
		if secret && in.AuthInfo[k] == "" && old.AuthInfo[k] != "" {
			if in.AuthInfo == nil {
				in.AuthInfo = map[string]string{}
			}
			in.AuthInfo[k] = old.AuthInfo[k]
		}
	}
}

// describeInstance names an instance in messages.
func describeInstance(in Instance) string { return fmt.Sprintf("instance %s (%d)", in.Name, in.ID) }
