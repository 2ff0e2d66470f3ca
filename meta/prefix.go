package meta

import "strings"

// pageSize is how many entries the prefix helpers read at a time.
const pageSize = 512

// RecordsWithPrefix returns, in key order, up to limit records of r
// whose keys start with prefix (limit <= 0: all of them), reading a page
// at a time.
func RecordsWithPrefix(r Records, prefix string, limit int) ([]Record, error) {
	var out []Record
	after := prefix
	for {
		page, err := r.List(after, pageSize)
		if err != nil {
			return out, err
		}
		for _, rec := range page {
			if !strings.HasPrefix(rec.Key, prefix) || limit > 0 && len(out) == limit {
				return out, nil
			}
			out = append(out, rec)
		}
		if len(page) < pageSize {
			return out, nil
		}
		after = page[len(page)-1].Key
	}
}

// RepositoriesWithPrefix returns, in lexical order, the repositories
// whose names start with prefix ("team/": a project's), reading a page at
// a time.
func RepositoriesWithPrefix(tx Tx, prefix string) ([]string, error) {
	var out []string
	after := prefix
	for {
		page, err := tx.Repositories().List(after, pageSize)
		if err != nil {
			return out, err
		}
		for _, name := range page {
			if !strings.HasPrefix(name, prefix) {
				return out, nil
			}
			out = append(out, name)
		}
		if len(page) < pageSize {
			return out, nil
		}
		after = page[len(page)-1]
	}
}
