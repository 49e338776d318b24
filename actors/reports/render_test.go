package reports

import "testing"

// TestThin: a long curve is cut to about n points keeping its first and
// last point and every run's extremes.
func TestThin(t *testing.T) {
	var pts []point
	for i := range 100_000 {
		v := float64(i % 1000)
		if i == 54_321 {
			v = -500 // the trough
		}
		pts = append(pts, point{int64(i), v})
	}
	out := thin(pts, 2000)
	if len(out) > 2002 || out[0] != pts[0] || out[len(out)-1] != pts[len(pts)-1] {
		t.Fatalf("%d points, first %v, last %v", len(out), out[0], out[len(out)-1])
	}
	trough, peak := false, false
	for i, p := range out {
		trough = trough || p.value == -500
		peak = peak || p.value == 999
		if i > 0 && p.timeMs <= out[i-1].timeMs {
			t.Fatalf("out of order at %d", i)
		}
	}
	if !trough || !peak {
		t.Fatal("the extremes were dropped")
	}
	if got := thin(pts[:10], 2000); len(got) != 10 {
		t.Fatalf("a short curve changed: %d", len(got))
	}
}
