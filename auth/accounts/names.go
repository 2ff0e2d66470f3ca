package accounts

import (
	"fmt"
	"strings"
)

// RobotPrefix starts every robot account name.
const RobotPrefix = "robot$"

// validName reports a project, user or robot short name: 1 to 64 of
// lowercase letters, digits, '-', '_' and '.', starting with a letter or
// digit (a project name is also a repository name component).
func validName(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("name %q must be 1 to 64 characters", s)
	}
	for i, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))
		if !ok {
			return fmt.Errorf("name %q: only lowercase letters, digits, '-', '_' and '.' (not first) are allowed", s)
		}
	}
	return nil
}

// validUserName reports a name for an account a provider names (OIDC):
// 1 to 255 of letters, digits and ".-_@+", so e-mail addresses qualify,
// starting with a letter or digit.
func validUserName(s string) error {
	if s == "" || len(s) > 255 {
		return fmt.Errorf("user name %q must be 1 to 255 characters", s)
	}
	for i, c := range []byte(s) {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune(".-_@+", rune(c))) {
			return fmt.Errorf("user name %q: only letters, digits and \".-_@+\" (not first) are allowed", s)
		}
	}
	return nil
}

// RobotName is the account name of robot name in project ("" for a
// system robot).
func RobotName(project, name string) string {
	if project == "" {
		return RobotPrefix + name
	}
	return RobotPrefix + project + "+" + name
}

// IsRobot reports whether an account name is a robot's.
func IsRobot(account string) bool { return strings.HasPrefix(account, RobotPrefix) }
