package report

// downsample returns, in order, the indexes of the points of a series of
// n to draw: all of them when n <= 2*buckets+2, else the first, the last,
// and the lowest and highest of each of buckets equal runs, so a chart
// keeps every extreme (a spike in a year of minutes included).
func downsample(n int, y func(int) float64, buckets int) []int {
	if buckets < 1 {
		buckets = 1
	}
	if n <= 2*buckets+2 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := make([]int, 0, 2*buckets+2)
	idx = append(idx, 0)
	for b := range buckets {
		from := 1 + b*(n-2)/buckets
		to := 1 + (b+1)*(n-2)/buckets
		lo, hi := from, from
		vlo, vhi := y(from), y(from)
		for i := from + 1; i < to; i++ {
			switch v := y(i); {
			case v < vlo:
				lo, vlo = i, v
			case v > vhi:
				hi, vhi = i, v
			}
		}
		switch {
		case lo == hi:
			idx = append(idx, lo)
		case lo < hi:
			idx = append(idx, lo, hi)
		default:
			idx = append(idx, hi, lo)
		}
	}
	return append(idx, n-1)
}
