package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// auditEntry is an entry of an audit log as the API answers it (the
// registry's and a project's alike).
type auditEntry struct {
	ID           uint64 `json:"id"`
	Resource     string `json:"resource"`
	ResourceType string `json:"resource_type"`
	Operation    string `json:"operation"`
	Username     string `json:"username"`
	OpTime       string `json:"op_time"`
	Result       string `json:"result"`
	Project      string `json:"project_name"`
}

// auditPager is an audit log's position: numbered pages when the API
// counts, else the cursor of its next page (a filtered search), and the
// way back to the first.
type auditPager struct {
	pager
	Counted bool
	First   string
}

// auditLog reads a page of the audit log at path (the API's), searched
// by the request's fields keys (the API's q keys; resource as a
// substring), and returns the entries, the form's values and the pager.
func (h *Handler) auditLog(r *http.Request, path string, keys []string) ([]auditEntry, map[string]string, auditPager, error) {
	form := map[string]string{}
	var conds []string
	for _, k := range keys {
		val := strings.TrimSpace(r.URL.Query().Get(k))
		form[k] = val
		switch {
		case val == "":
		case k == "resource":
			conds = append(conds, k+"=~"+val)
		default:
			conds = append(conds, k+"="+val)
		}
	}
	extra := url.Values{"q": {strings.Join(conds, ",")}, "before": {r.URL.Query().Get("before")}, "skip": {r.URL.Query().Get("skip")}}
	var list []auditEntry
	a, err := h.api.do(r, call{method: http.MethodGet, path: path, query: listQuery(r, extra)}, &list)
	if err != nil {
		return nil, nil, auditPager{}, err
	}
	pg := auditPager{}
	if total := a.total(); total >= 0 {
		pg.pager, pg.Counted = newPager(r, total), true
		return list, form, pg, nil
	}
	pg.Page = pageOf(r)
	if next := nextLink(a.header.Get("Link")); next != nil {
		u := *r.URL
		q := u.Query()
		for _, k := range []string{"page", "before", "skip"} {
			q.Del(k)
			if x := next.Get(k); x != "" {
				q.Set(k, x)
			}
		}
		u.RawQuery = q.Encode()
		pg.Next = u.RequestURI()
	}
	if pg.Page > 1 || r.URL.Query().Get("before") != "" {
		u := *r.URL
		q := u.Query()
		q.Del("page")
		q.Del("before")
		q.Del("skip")
		u.RawQuery = q.Encode()
		pg.First = u.RequestURI()
	}
	return list, form, pg, nil
}

// nextLink returns the query of a Link header's rel="next" (nil without
// one).
func nextLink(link string) url.Values {
	for _, part := range strings.Split(link, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, `rel="next"`) {
			continue
		}
		start, end := strings.Index(part, "<"), strings.Index(part, ">")
		if start < 0 || end < start {
			return nil
		}
		u, err := url.Parse(part[start+1 : end])
		if err != nil {
			return nil
		}
		return u.Query()
	}
	return nil
}
