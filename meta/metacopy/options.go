package metacopy

// Option configures Copy and Compare.
type Option func(*options)

type options struct {
	batch    int
	progress func(Counts)
	maxDiffs int
}

// DefaultBatchSize is how many records Copy writes per destination
// transaction, and Copy and Compare read per page, unless WithBatchSize
// says otherwise.
const DefaultBatchSize = 500

// DefaultMaxDifferences is how many differences Compare lists before it
// stops, unless WithMaxDifferences says otherwise.
const DefaultMaxDifferences = 1000

func newOptions(opts []Option) options {
	o := options{batch: DefaultBatchSize, maxDiffs: DefaultMaxDifferences}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithBatchSize sets how many records Copy writes per destination
// transaction and how many Copy and Compare read per page (n < 1: the
// default).
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.batch = n
		}
	}
}

// WithProgress has Copy call fn after each committed batch with the
// counts copied so far (fn must not keep the map).
func WithProgress(fn func(Counts)) Option {
	return func(o *options) { o.progress = fn }
}

// WithMaxDifferences sets how many differences Compare lists before it
// stops looking (n < 1: the default).
func WithMaxDifferences(n int) Option {
	return func(o *options) {
		if n >= 1 {
			o.maxDiffs = n
		}
	}
}
