package cveexport

// WithChunk stores files in chunks of n bytes (a test's small chunks
// make files of several).
func WithChunk(n int) Option { return func(s *Service) error { s.chunk = n; return nil } }
