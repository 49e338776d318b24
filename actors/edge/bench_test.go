package edge_test

import (
	"bufio"
	"net"
	"testing"

	"github.com/superbot/superbot/actors/edge"
)

// BenchmarkUnixCall times one routed call and its answer over the Unix
// socket, sequentially (the socket's fast path: read a line, route it to
// an actor, write the answer).
func BenchmarkUnixCall(b *testing.B) {
	f := start(b, edge.DefaultConfig())
	c, err := net.Dial("unix", f.socket)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	req := []byte(`{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}` + "\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnixBatch times a batch of 10 calls over the Unix socket.
func BenchmarkUnixBatch(b *testing.B) {
	f := start(b, edge.DefaultConfig())
	c, err := net.Dial("unix", f.socket)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	one := `{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}`
	batch := "[" + one
	for range 9 {
		batch += "," + one
	}
	req := []byte(batch + "]\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadSlice('\n'); err != nil {
			b.Fatal(err)
		}
	}
}
