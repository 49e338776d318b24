package modules

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestPumpLines: how a stream's bytes become lines, whatever the writes'
// boundaries, and what the ring keeps.
func TestPumpLines(t *testing.T) {
	long := strings.Repeat("x", maxLineBytes)
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{name: "lines", writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
		{name: "split writes", writes: []string{"ab", "c\nd", "e\n"}, want: []string{"abc", "de"}},
		{name: "crlf and empty", writes: []string{"a\r\n\nb\n"}, want: []string{"a", "", "b"}},
		{name: "last line without end", writes: []string{"a\nb"}, want: []string{"a", "b"}},
		{name: "long line cut", writes: []string{long[:1000], long[1000:] + "yz\n"}, want: []string{long, "yz"}},
		{name: "long line cut twice", writes: []string{long + long + "\n"}, want: []string{long, long}},
		{name: "cut at the end", writes: []string{long + "\nz\n"}, want: []string{long, "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			s := newLogSink("p", "", nil, nil)
			done := make(chan struct{})
			go func() {
				s.pump(r, "stdout")
				close(done)
			}()
			for _, c := range tc.writes {
				if _, err := w.WriteString(c); err != nil {
					t.Fatal(err)
				}
			}
			_ = w.Close()
			<-done
			var got []string
			for _, l := range s.tail(len(tc.want) + 1) {
				got = append(got, l.Line)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("lines %q, want %q", abbrev(got), abbrev(tc.want))
			}
		})
	}
}

// TestRingKeepsTheLast: the ring grows to ringLines and then keeps the
// most recent.
func TestRingKeepsTheLast(t *testing.T) {
	s := newLogSink("r", "", nil, nil)
	for i := range ringLines + 10 {
		s.line("stdout", itoa(i))
	}
	tail := s.tail(ringLines + 5)
	if len(tail) != ringLines || tail[0].Line != itoa(10) || tail[len(tail)-1].Line != itoa(ringLines+9) {
		t.Fatalf("%d lines, %s ... %s", len(tail), tail[0].Line, tail[len(tail)-1].Line)
	}
	if three := s.tail(3); three[0].Line != itoa(ringLines+7) {
		t.Fatalf("tail 3 starts at %s", three[0].Line)
	}
}

func abbrev(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 20 {
			l = fmt.Sprintf("%s...(%d bytes)", l[:10], len(l))
		}
		out[i] = l
	}
	return out
}
