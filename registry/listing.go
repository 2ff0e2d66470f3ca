package registry

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthreg/berth/meta"
)

// CodePaginationNumberInvalid answers an n parameter that is not a
// non-negative integer (the code CNCF Distribution uses).
const CodePaginationNumberInvalid ErrorCode = "PAGINATION_NUMBER_INVALID"

// pageParams reads n and last from a listing request.
func pageParams(r *http.Request) (n int, last string, err error) {
	q := r.URL.Query()
	n = defaultPageSize
	if s := q.Get("n"); s != "" {
		v, perr := strconv.Atoi(s)
		if perr != nil || v < 0 {
			return 0, "", NewError(http.StatusBadRequest, CodePaginationNumberInvalid, "n must be a non-negative integer")
		}
		n = min(v, maxPageSize)
	}
	return n, q.Get("last"), nil
}

// nextLink renders the RFC 5988 Link header for the page after last.
func nextLink(path string, n int, last string) string {
	q := url.Values{}
	q.Set("n", strconv.Itoa(n))
	q.Set("last", last)
	return "<" + path + "?" + q.Encode() + `>; rel="next"`
}

// page fetches up to n items after last with list (asking for one more to
// learn whether a next page exists) and sets the Link header.
func page(w http.ResponseWriter, path string, n int, last string, list func(after string, limit int) ([]string, error)) ([]string, error) {
	if n == 0 {
		return []string{}, nil
	}
	items, err := list(last, n+1)
	if err != nil {
		return nil, err
	}
	if len(items) > n {
		items = items[:n]
		w.Header().Set("Link", nextLink(path, n, items[n-1]))
	}
	if items == nil {
		items = []string{}
	}
	return items, nil
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

func (h *Handler) getTags(w http.ResponseWriter, r *http.Request, repo string) error {
	if err := h.authorize(r, &Event{Action: ActionListTags, Repository: repo}); err != nil {
		return err
	}
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	var tags []string
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		if n == 0 {
			// page lists nothing, and so does not find a missing
			// repository, which Tags.List reports.
			if _, err := tx.Repositories().Get(repo); err != nil {
				return err
			}
		}
		tags, err = page(w, "/v2/"+repo+"/tags/list", n, last, func(after string, limit int) ([]string, error) {
			return tx.Tags().List(repo, after, limit)
		})
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return errNameUnknown(repo)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", http.StatusOK, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo, tags})
}

func (h *Handler) getCatalog(w http.ResponseWriter, r *http.Request) error {
	if err := h.authorize(r, &Event{Action: ActionCatalog}); err != nil {
		return err
	}
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	var repos []string
	err = h.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		repos, err = page(w, "/v2/_catalog", n, last, tx.Repositories().List)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, "application/json", http.StatusOK, struct {
		Repositories []string `json:"repositories"`
	}{repos})
}
