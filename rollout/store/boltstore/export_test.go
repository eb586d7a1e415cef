package boltstore

// WithSegmentSize makes the store start a new payload segment past n bytes,
// so a test sees segments come and go without writing 64 MiB each.
func WithSegmentSize(n int64) Option {
	return func(o *options) { o.segmentSize = n }
}
