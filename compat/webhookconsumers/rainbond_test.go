package webhookconsumers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
)

// Rainbond redeploys a component built from an image when that image's
// registry calls the component's image webhook: POST
// /console/image/webhooks/{service_id} on Rainbond's console
// (goodrain/rainbond-console, console/views/webhook.py,
// ImageWebHooksDeploy). The console learnt Harbor's body in
// goodrain/rainbond-console pull request #1470 ("support harbor
// webhook"), which closed goodrain/rainbond issue #1404 (Harbor's pushes
// answered 400). The endpoint takes anyone (AlowAnyApiView): it reads no
// header, and the component's webhook switch and its image are what guard
// it.

// rainbondPush is what the console reads from a body: the repository name
// it compares with the component's image, the tag (hasTag false when the
// body has none: Python's None) and the pusher it deploys as.
type rainbondPush struct {
	Harbor    bool // read through the Harbor branch
	RepoName  string
	Tag       string
	HasTag    bool
	Pusher    string
	HasPusher bool
}

// rainbondErr is the console's refusal: its HTTP status and message.
type rainbondErr struct {
	Status int
	Msg    string
}

func (e *rainbondErr) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Msg) }

// rainbondRead reads a webhook body as the console does. A body whose
// event_data is an object holding a "resources" key is Harbor's: the first
// resource's tag, the repository's repo_full_name (else its name) and the
// operator (default "harbor"); empty resources are refused. The event
// type is never read: any Harbor event with resources counts as a push.
// Any other body is read as Docker Hub's or Aliyun's (repository and
// push_data), which a Harbor body is not. A missing repository name is
// refused; Python exceptions (a field of the wrong type) answer 500.
// Source: goodrain/rainbond-console console/views/webhook.py
// (ImageWebHooksDeploy.post) at 8fdbe67fb3847578009582f9303e351abb0d3440.
func rainbondRead(body []byte) (rainbondPush, error) {
	var data map[string]any
	if err := json.Unmarshal(body, &data); err != nil {
		return rainbondPush{}, &rainbondErr{http.StatusBadRequest, "the body is not a JSON object"}
	}
	internal := &rainbondErr{http.StatusInternalServerError, "internal error"}
	str := func(m map[string]any, key string) (string, bool) { s, ok := m[key].(string); return s, ok }
	var p rainbondPush
	if ed, ok := data["event_data"].(map[string]any); ok && has(ed, "resources") {
		p.Harbor = true
		resources, isList := ed["resources"].([]any)
		if !truthy(ed["resources"]) {
			return p, &rainbondErr{http.StatusBadRequest, "Harbor webhook缺少resources信息"}
		}
		if !isList {
			return p, internal // resources[0] on something else
		}
		first, ok := resources[0].(map[string]any)
		if !ok {
			return p, internal
		}
		repo, ok := ed["repository"].(map[string]any)
		if has(ed, "repository") && !ok {
			return p, internal // repository.get on None or a non-object
		}
		p.Tag, p.HasTag = str(first, "tag")
		if name, _ := str(repo, "repo_full_name"); name != "" {
			p.RepoName = name
		} else {
			p.RepoName, _ = str(repo, "name")
		}
		p.Pusher, p.HasPusher = "harbor", true
		if has(data, "operator") {
			p.Pusher, p.HasPusher = str(data, "operator")
		}
	} else {
		repo, ok := data["repository"].(map[string]any)
		if !truthy(data["repository"]) {
			return p, &rainbondErr{http.StatusBadRequest, "缺少repository信息"}
		}
		if !ok {
			return p, internal
		}
		if pd, ok := data["push_data"].(map[string]any); ok && truthy(pd) {
			p.Pusher, p.HasPusher = str(pd, "pusher")
			p.Tag, p.HasTag = str(pd, "tag")
		}
		p.RepoName, _ = str(repo, "repo_name")
		if p.RepoName == "" {
			ns, _ := str(repo, "namespace")
			name, _ := str(repo, "name")
			if ns != "" && name != "" {
				p.RepoName = "fake.repo.aliyun.com/" + ns + "/" + name
			} else {
				p.RepoName, _ = str(repo, "repo_full_name")
			}
		}
	}
	if p.RepoName == "" {
		return p, &rainbondErr{http.StatusBadRequest, "缺少repository名称信息"}
	}
	return p, nil
}

// rainbondComponent is what the console knows of the component the
// webhook's URL names: its image and its tag trigger (a regular
// expression; "" for none).
type rainbondComponent struct {
	Image   string
	Trigger string
}

// rainbondDeploy decides as the console does whether push redeploys c, and
// with which image: the repository name must equal the name of c's image
// without its registry (as docker-image-py splits it); with a trigger the
// tag must match it from its start (Python's re.match; a missing tag
// raises, 500) and the component's image takes the pushed tag; without
// one the tag must equal the image's.
// Source: goodrain/rainbond-console console/views/webhook.py
// (ImageWebHooksDeploy.post) at 8fdbe67fb3847578009582f9303e351abb0d3440,
// console/repositories/app.py (change_service_image_tag).
func rainbondDeploy(push rainbondPush, c rainbondComponent) (image string, err error) {
	ref, err := pyParseReference(c.Image)
	if err != nil {
		return "", &rainbondErr{http.StatusInternalServerError, err.Error()}
	}
	if _, name := pySplitHostname(ref.name); push.RepoName != name {
		return "", &rainbondErr{http.StatusBadRequest, "镜像名称与组件构建源不符"}
	}
	if c.Trigger != "" {
		re, err := regexp.Compile(`^(?:` + c.Trigger + `)`)
		if err != nil || !push.HasTag {
			return "", &rainbondErr{http.StatusInternalServerError, "internal error"}
		}
		if !re.MatchString(push.Tag) {
			return "", &rainbondErr{http.StatusBadRequest, "镜像tag与正则表达式不匹配"}
		}
		return ref.name + ":" + push.Tag, nil
	}
	if push.HasTag != ref.hasTag || push.Tag != ref.tag {
		return "", &rainbondErr{http.StatusBadRequest, "镜像tag与组件构建源不符"}
	}
	return c.Image, nil
}

// has says whether m has key, whatever its value.
func has(m map[string]any, key string) bool { _, ok := m[key]; return ok }

// truthy is Python's truth of a decoded JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// docker-image-py (realityone/docker-image-py), which the console uses
// to read component images, builds distribution's reference grammar from
// the same pieces, but its split_hostname takes any first segment that
// is a valid host name (a single label such as "team" is one) as the
// registry, not only one with a dot or a colon as Docker does.
// Source: realityone/docker-image-py docker_image/regexp.py at
// 19855ae8732032ec404285669b6a8f2eecd3d12f and docker_image/reference.py
// at 036fa69897b18348d256e8b5693cda12da6235df.
var (
	pyNameComponent = `[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?`
	pyHostComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	pyHostname      = pyHostComponent + `(?:(?:\.` + pyHostComponent + `)+)?(?::[0-9]+)?`
	pyPath          = pyNameComponent + `(?:(?:/` + pyNameComponent + `)+)?`
	pyName          = `(?:` + pyHostname + `/)?` + pyPath
	pyTag           = `\w[\w.-]{0,127}`
	pyDigest        = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`
	pyReference     = regexp.MustCompile(`^(` + pyName + `)(?::(` + pyTag + `))?(?:@(` + pyDigest + `))?$`)
	pyAnchoredName  = regexp.MustCompile(`^(?:(` + pyHostname + `)/)?(` + pyPath + `)$`)
)

// pyRef is a parsed reference: name (registry included) and tag.
type pyRef struct {
	name   string
	tag    string
	hasTag bool
}

// pyParseReference is Reference.parse: the whole string must match; names
// over 255 characters are refused. (Go's regexp picks the submatches a
// backtracking engine such as Python's would.)
func pyParseReference(s string) (pyRef, error) {
	m := pyReference.FindStringSubmatchIndex(s)
	switch {
	case m == nil && s == "":
		return pyRef{}, errors.New("repository name must have at least one component")
	case m == nil:
		return pyRef{}, errors.New("invalid reference format")
	case m[3]-m[2] > 255:
		return pyRef{}, errors.New("repository name must not be more than 255 characters")
	}
	r := pyRef{name: s[m[2]:m[3]]}
	if m[4] >= 0 {
		r.tag, r.hasTag = s[m[4]:m[5]], true
	}
	return r, nil
}

// pySplitHostname is NamedReference.split_hostname: the optional leading
// host (any valid host name, taken whenever the rest still parses) and
// the rest.
func pySplitHostname(name string) (host, rest string) {
	m := pyAnchoredName.FindStringSubmatch(name)
	if m == nil {
		return "", name
	}
	return m[1], m[2]
}
