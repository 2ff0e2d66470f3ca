package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthreg/berth/auth/accounts"
)

// Paging defaults and limits, Harbor's.
const (
	defaultPageSize = 10
	maxPageSize     = 100
)

// page is a request's page: 1-based number and size.
type page struct{ num, size int }

// parsePage reads page and page_size.
func parsePage(r *http.Request) (page, error) {
	p := page{num: 1, size: defaultPageSize}
	q := r.URL.Query()
	for _, f := range []struct {
		key string
		dst *int
	}{{"page", &p.num}, {"page_size", &p.size}} {
		v := q.Get(f.key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, badRequest("%s: %q is not a positive integer", f.key, v)
		}
		*f.dst = n
	}
	if p.size > maxPageSize {
		return p, badRequest("page_size: %d is above the maximum of %d", p.size, maxPageSize)
	}
	return p, nil
}

// slice returns the bounds of the page in a list of total items.
func (p page) slice(total int) (int, int) {
	start := min((p.num-1)*p.size, total)
	return start, min(start+p.size, total)
}

// setHeaders sets X-Total-Count and a Link header with the previous and
// next pages, as Harbor does.
func (p page) setHeaders(w http.ResponseWriter, r *http.Request, total int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("page_size", strconv.Itoa(p.size))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if p.num > 1 {
		links = append(links, link(p.num-1, "prev"))
	}
	if p.num*p.size < total {
		links = append(links, link(p.num+1, "next"))
	}
	for i, l := range links {
		if i == 0 {
			w.Header().Set("Link", l)
		} else {
			w.Header().Set("Link", w.Header().Get("Link")+" , "+l)
		}
	}
}

// accounts is the page as accounts.Manager's listings take it.
func (p page) accounts() accounts.Page { return accounts.Page{Number: p.num, Size: p.size} }

// writeCounted answers with items, one page of a listing of total items
// that a service paged, and the paging headers.
func writeCounted[T any](w http.ResponseWriter, r *http.Request, pg page, items []T, total int) {
	pg.setHeaders(w, r, total)
	writeJSON(w, http.StatusOK, append([]T{}, items...))
}

// writePage answers with pg's page of list (a JSON array, [] when empty)
// and the paging headers.
func writePage[T any](w http.ResponseWriter, r *http.Request, pg page, list []T) {
	start, end := pg.slice(len(list))
	pg.setHeaders(w, r, len(list))
	writeJSON(w, http.StatusOK, append([]T{}, list[start:end]...))
}
