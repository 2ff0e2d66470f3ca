package ui

import (
	"net/http"
	"net/url"
	"strconv"
)

// pageSize is how many rows a list shows at once.
const pageSize = 15

// pager is a list's position, for the "pager" template.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string // URLs, "" at either end
}

// pageOf returns the request's page number (1 when absent or bad).
func pageOf(r *http.Request) int { return pageAt(r, "page") }

// pageAt returns the page number in the request's parameter key (1 when
// absent or bad), for a page holding a second paged list.
func pageAt(r *http.Request, key string) int {
	n, err := strconv.Atoi(r.URL.Query().Get(key))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// listQuery returns the API query of a list page: page and page_size,
// with extra.
func listQuery(r *http.Request, extra url.Values) url.Values {
	q := url.Values{"page": {strconv.Itoa(pageOf(r))}, "page_size": {strconv.Itoa(pageSize)}}
	for k, v := range extra {
		if len(v) > 0 && v[0] != "" {
			q[k] = v
		}
	}
	return q
}

// newPager returns the pager of the request's page among total rows.
func newPager(r *http.Request, total int) pager { return pagerAt(r, "page", total) }

// pagerAt returns the pager of the page in the request's parameter key
// among total rows, pageSize a page.
func pagerAt(r *http.Request, key string, total int) pager {
	p := pager{Page: pageAt(r, key), Total: total}
	p.Pages = (total + pageSize - 1) / pageSize
	if p.Pages < 1 {
		p.Pages = 1
	}
	at := func(n int) string {
		u := *r.URL
		q := u.Query()
		q.Set(key, strconv.Itoa(n))
		u.RawQuery = q.Encode()
		return u.RequestURI()
	}
	if p.Page > 1 {
		p.Prev = at(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = at(p.Page + 1)
	}
	return p
}

// sortLink is a sortable column's header: the URL that sorts by it (the
// other way when it already does) and the current direction.
type sortLink struct {
	URL string
	Dir string // "asc", "desc" or ""
}

// sortLinks returns the header links of the sortable columns (API sort
// keys); the current sort is the request's "sort" (a leading "-" for
// descending).
func sortLinks(r *http.Request, keys ...string) map[string]sortLink {
	cur := r.URL.Query().Get("sort")
	out := map[string]sortLink{}
	for _, k := range keys {
		l := sortLink{}
		next := k
		switch cur {
		case k:
			l.Dir, next = "asc", "-"+k
		case "-" + k:
			l.Dir = "desc"
		}
		u := *r.URL
		q := u.Query()
		q.Set("sort", next)
		q.Del("page")
		u.RawQuery = q.Encode()
		l.URL = u.RequestURI()
		out[k] = l
	}
	return out
}
