package strategy

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

type nop struct{ Base }

func (nop) Save() ([]byte, error) { return nil, nil }
func (nop) Restore([]byte) error  { return nil }

var registerOnce sync.Once

func TestRegistry(t *testing.T) {
	registerOnce.Do(func() { // -count=N runs this test N times in one process
		Register("test_nop", func(params map[string]any) (Strategy, error) {
			p := ReadParams(params)
			if _, err := p.Int("n", 1, 1, 5); err != nil {
				return nil, err
			}
			return nop{}, p.Done()
		})
	})
	if _, err := New("test_nop", map[string]any{"n": int64(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := New("nope", nil); !errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "test_nop") {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := New("test_nop", map[string]any{"n": int64(9)}); err == nil || !strings.HasPrefix(err.Error(), "n: must be within") {
		t.Fatalf("bad n: %v", err)
	}
	if _, err := New("test_nop", map[string]any{"m": int64(1)}); err == nil || !strings.HasPrefix(err.Error(), "m: unknown param") {
		t.Fatalf("unknown param: %v", err)
	}
	if FeedsOf(nop{}) != 0 {
		t.Fatal("nop asks for feeds")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of a kind did not panic")
		}
	}()
	Register("test_nop", func(map[string]any) (Strategy, error) { return nop{}, nil })
}

func TestContextReusesItsBuffer(t *testing.T) {
	c := NewContext("X", 41)
	if r := c.Place(Order{Side: Buy, Type: Market, Quantity: 1}); r != 42 {
		t.Fatalf("first ref %d, want 42", r)
	}
	c.Cancel(42)
	if len(c.Actions()) != 2 {
		t.Fatal("actions lost")
	}
	allocs := testing.AllocsPerRun(100, func() {
		c.Begin(1)
		c.Place(Order{Side: Sell, Type: Limit, Price: 1, Quantity: 1})
		c.After(1, 0)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per event, want 0", allocs)
	}
}

func TestCodec(t *testing.T) {
	var e Encoder
	e.Uint64(3)
	e.Float64(1.5)
	e.Bool(true)
	e.Int64(-2)
	d := Decoder{B: e.B}
	if d.Len(10, 1) != 3 || d.Float64() != 1.5 || !d.Bool() || d.Int64() != -2 || d.Finish() != nil {
		t.Fatal("round trip")
	}
	d = Decoder{B: e.B}
	if d.Len(2, 0) != 0 || !errors.Is(d.Finish(), ErrBadState) {
		t.Fatal("a count over max must fail")
	}
	d = Decoder{B: e.B[:5]}
	d.Uint64()
	if !errors.Is(d.Finish(), ErrBadState) {
		t.Fatal("short input must fail")
	}
}
