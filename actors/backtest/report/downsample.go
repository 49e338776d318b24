package report

// sample is one point of a series to draw.
type sample struct {
	t int64
	v float64
}

// sampler downsamples a series of n points fed in time order: it keeps
// all of them when n <= 2*buckets+2, else the first, the last, and the
// lowest and highest of each of buckets equal runs in between, so a chart
// keeps every extreme (a spike in a year of minutes included). It
// allocates only its output.
type sampler struct {
	n, buckets int
	all        bool
	seen       int
	bucket     int
	end        int // the index after the current bucket's last
	// limit is the index below which add takes its fast path (inside a
	// bucket already started); 0 when there is none.
	limit  int
	lo, hi sample
	out    []sample
}

// newSampler is a sampler for n points.
func newSampler(n, buckets int) *sampler {
	buckets = max(buckets, 1)
	s := &sampler{n: n, buckets: buckets, all: n <= 2*buckets+2}
	if s.all {
		s.out = make([]sample, 0, n)
	} else {
		s.out = make([]sample, 0, 2*buckets+2)
		s.end = 1 + (n-2)/buckets
	}
	return s
}

// add feeds the next point. Its common case is small enough to inline.
func (s *sampler) add(t int64, v float64) {
	if s.seen >= s.limit {
		s.addEdge(t, v)
		return
	}
	s.seen++
	if v < s.lo.v {
		s.lo.t, s.lo.v = t, v
	}
	if v > s.hi.v {
		s.hi.t, s.hi.v = t, v
	}
}

// addEdge feeds a point that starts a bucket, or the first or the last,
// or any when all are kept.
func (s *sampler) addEdge(t int64, v float64) {
	i := s.seen
	s.seen++
	if s.all || i == 0 {
		s.out = append(s.out, sample{t, v})
		return
	}
	if i == s.n-1 {
		s.flush()
		s.out = append(s.out, sample{t, v})
		return
	}
	for i >= s.end {
		s.flush()
		s.bucket++
		s.end = 1 + (s.bucket+1)*(s.n-2)/s.buckets
	}
	s.lo, s.hi = sample{t, v}, sample{t, v}
	s.limit = min(s.end, s.n-1)
}

// flush emits the current bucket's extremes in time order.
func (s *sampler) flush() {
	if s.limit == 0 {
		return
	}
	switch {
	case s.lo == s.hi:
		s.out = append(s.out, s.lo)
	case s.lo.t <= s.hi.t:
		s.out = append(s.out, s.lo, s.hi)
	default:
		s.out = append(s.out, s.hi, s.lo)
	}
	s.limit = 0
}

// samples returns what was kept.
func (s *sampler) samples() []sample { return s.out }
