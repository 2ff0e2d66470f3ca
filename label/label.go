package label

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/berthreg/berth/meta"
)

// Scope says where a label may be used: everywhere (Global) or in one
// project (ProjectScope). The values are Harbor's.
type Scope string

// The scopes.
const (
	// Global labels are managed by system administrators and may be
	// attached to artifacts of every project.
	Global Scope = "g"
	// ProjectScope labels belong to one project, whose project
	// administrators and maintainers manage them; they may be attached
	// only to that project's artifacts.
	ProjectScope Scope = "p"
)

// Limits of a label's fields.
const (
	// MaxName is the longest name, in characters (Harbor's).
	MaxName = 128
	// MaxDescription is the longest description, in characters.
	MaxDescription = 1024
)

// Label is a name, description and color that people attach to
// artifacts to sort and select them (Harbor's labels).
type Label struct {
	// ID identifies the label for good: the Service allocates it, and an
	// id is never given to another label, even after a deletion.
	ID int64 `json:"id"`
	// Name is unique within its scope (the global labels, or one
	// project's labels).
	Name string `json:"name"`
	// Description says what the label means.
	Description string `json:"description,omitempty"`
	// Color is how the label is shown: "#RRGGBB", or empty.
	Color string `json:"color,omitempty"`
	// Scope is Global or ProjectScope.
	Scope Scope `json:"scope"`
	// Project names the project of a ProjectScope label.
	Project string `json:"project,omitempty"`
	// ProjectID is the id of that project's incarnation
	// (accounts.Project.ID): a label of a project deleted and created
	// again under the name does not belong to the new one.
	ProjectID uint64 `json:"projectId,omitempty"`
	// CreatedAt and UpdatedAt bound the label's life.
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Errors the Service returns (wrapped, with details), beside
// meta.ErrNotFound for a label, project, repository or artifact that
// does not exist or that the caller may not see.
var (
	// ErrInvalid reports a bad argument; an *InputError names it.
	ErrInvalid = errors.New("label: invalid")
	// ErrExists reports a name already taken in the label's scope, or a
	// label already attached to the artifact.
	ErrExists = errors.New("label: already exists")
	// ErrForbidden reports a caller who may see but not do this.
	ErrForbidden = errors.New("label: forbidden")
	// ErrUnauthenticated reports an anonymous caller asking for
	// something only a signed-in one may do.
	ErrUnauthenticated = errors.New("label: authentication required")
)

// InputError is an ErrInvalid naming the field at fault, by its name in
// Harbor's API ("name", "color", "scope", "project_id", "id").
type InputError struct {
	// Field is the field or argument.
	Field string
	// Msg says what is wrong with it.
	Msg string
}

// Error names the field and says what is wrong with it.
func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes the error match ErrInvalid.
func (e *InputError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// colorRE is a color as Harbor's portal writes it.
var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Check reports the first field of l that is not valid as an
// *InputError: a name of 1 to MaxName printable characters without
// leading or trailing spaces, a description of at most MaxDescription
// characters, a color "#RRGGBB" or none, a scope Global or ProjectScope.
// Whether the project exists is for the Service to say.
func (l Label) Check() error {
	switch n := utf8.RuneCountInString(l.Name); {
	case !utf8.ValidString(l.Name):
		return invalid("name", "not UTF-8")
	case strings.TrimSpace(l.Name) == "":
		return invalid("name", "required")
	case n > MaxName:
		return invalid("name", "%d characters, more than %d", n, MaxName)
	case strings.TrimSpace(l.Name) != l.Name:
		return invalid("name", "%q has leading or trailing spaces", l.Name)
	case strings.IndexFunc(l.Name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return invalid("name", "%q has a character that is not printable", l.Name)
	}
	switch n := utf8.RuneCountInString(l.Description); {
	case !utf8.ValidString(l.Description) || strings.ContainsRune(l.Description, 0):
		return invalid("description", "not UTF-8 text")
	case n > MaxDescription:
		return invalid("description", "%d characters, more than %d", n, MaxDescription)
	}
	if l.Color != "" && !colorRE.MatchString(l.Color) {
		return invalid("color", "%q is not #RRGGBB", l.Color)
	}
	switch l.Scope {
	case Global:
		if l.Project != "" || l.ProjectID != 0 {
			return invalid("project_id", "a global label belongs to no project")
		}
	case ProjectScope:
	default:
		return invalid("scope", "%q is not %q (global) or %q (project)", l.Scope, Global, ProjectScope)
	}
	return nil
}

// notFound is meta.ErrNotFound saying what is missing.
func notFound(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), meta.ErrNotFound)
}
