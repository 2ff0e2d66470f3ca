package ui

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// Every message is in both languages, and every key a template asks
// for is in the catalog.
func TestCatalog(t *testing.T) {
	for k, m := range catalog {
		if strings.TrimSpace(m.en) == "" || strings.TrimSpace(m.zh) == "" {
			t.Errorf("message %q lacks a language: %+v", k, m)
		}
		if strings.Count(m.en, "%") != strings.Count(m.zh, "%") {
			t.Errorf("message %q: the languages take different arguments: %+v", k, m)
		}
	}
	used := regexp.MustCompile(`\.T "([^"]+)"`)
	files, _ := fs.Glob(templateFiles, "templates/*.html")
	if len(files) == 0 {
		t.Fatal("no templates")
	}
	for _, f := range files {
		b, _ := fs.ReadFile(templateFiles, f)
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalog[m[1]]; !ok {
				t.Errorf("%s uses %q, which is not in the catalog", f, m[1])
			}
		}
	}
	if _, err := parseTemplates(); err != nil {
		t.Fatal(err)
	}
}

// Languages: the cookie, else Accept-Language, else English.
func TestLocale(t *testing.T) {
	l := locale{Lang: langChinese}
	if l.T("nav.projects") != "项目" || (locale{Lang: langEnglish}).T("nav.projects") != "Projects" {
		t.Error("translation")
	}
	if l.T("login.oidc", "x") != "通过 x 登录" {
		t.Errorf("arguments: %s", l.T("login.oidc", "x"))
	}
}
