package objectstore

import (
	"context"
	"net/http"
)

// RedirectURL implements storage.Redirector: a presigned GET URL valid for
// Options.RedirectExpiry when that is positive and the bucket is a
// Presigner, else "" so the registry streams the object itself.
func (d *Driver) RedirectURL(ctx context.Context, _ *http.Request, p string) (string, error) {
	ps, ok := d.b.(Presigner)
	if d.o.RedirectExpiry <= 0 || !ok {
		return "", nil
	}
	if err := d.check(p); err != nil {
		return "", err
	}
	u, err := ps.PresignGet(ctx, d.Key(p), d.o.RedirectExpiry)
	if err != nil {
		return "", d.fail("presign", p, err)
	}
	return u, nil
}
