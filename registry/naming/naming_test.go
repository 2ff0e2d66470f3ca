package naming_test

import (
	_ "crypto/sha256"
	_ "crypto/sha512"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/registry/naming"
)

func TestProjectOf(t *testing.T) {
	for repo, want := range map[string]string{
		"team/app": "team", "team/app/web": "team", "library": "library", "": "", "a/": "a", "/x": "",
	} {
		if got := naming.ProjectOf(repo); got != want {
			t.Errorf("ProjectOf(%q) = %q, want %q", repo, got, want)
		}
	}
}

func TestAttachmentSubject(t *testing.T) {
	d := digest.FromString("x")
	for tag, want := range map[string]bool{
		"sha256-" + d.Encoded() + ".sig": true, "sha256-" + d.Encoded() + ".att": true, "sha256-" + d.Encoded() + ".sbom": true,
		"sha256-" + d.Encoded(): false, "v1.sig": false, "sha256-abc.sig": false, "latest": false, "sha256-" + d.Encoded() + ".txt": false,
		"sha256-" + strings.ToUpper(d.Encoded()) + ".sig": false, "sha256:" + d.Encoded() + ".sig": false,
		"sha256-" + d.Encoded() + ".sig.sig": false, "-" + d.Encoded() + ".sig": false,
	} {
		got, ok := naming.AttachmentSubject(tag)
		if ok != want || (ok && got != d) {
			t.Errorf("AttachmentSubject(%q) = %s, %v", tag, got, ok)
		}
		if naming.IsAttachmentTag(tag) != want {
			t.Errorf("IsAttachmentTag(%q) = %v", tag, !want)
		}
	}
}

func TestAttachmentTagsRoundTrip(t *testing.T) {
	for _, d := range []digest.Digest{digest.FromString("x"), digest.SHA512.FromString("y")} {
		tags := naming.AttachmentTags(d)
		want := []string{"sha256-", "sha256-", "sha256-"}
		if d.Algorithm() == digest.SHA512 {
			want = []string{"sha512-", "sha512-", "sha512-"}
		}
		for i, suffix := range []string{".sig", ".att", ".sbom"} {
			want[i] += d.Encoded() + suffix
		}
		if !slices.Equal(tags, want) {
			t.Errorf("AttachmentTags(%s) = %v, want %v", d, tags, want)
		}
		for _, tag := range tags {
			if got, ok := naming.AttachmentSubject(tag); !ok || got != d {
				t.Errorf("AttachmentSubject(%q) = %s, %v; want %s", tag, got, ok, d)
			}
		}
	}
}

// TestCheckName: the one rule for names of policies, endpoints, scanner
// registrations and record kinds.
func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"deploy": true, "a": true, "to-dc2_v1.2": true, strings.Repeat("x", 64): true,
		"": false, ".": false, "..": false, "...": true, ".hidden": true, strings.Repeat("x", 65): false, "a/b": false, "with space": false, "é": false, "a:b": false,
	} {
		if err := naming.CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
