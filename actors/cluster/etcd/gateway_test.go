package etcd_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/etcd"
)

// fakeGateway answers every request with status and body.
func fakeGateway(t *testing.T, status int, body string) *etcd.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL)
}

func TestGatewayErrors(t *testing.T) {
	cli := fakeGateway(t, http.StatusNotFound, `{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}`)
	if err := cli.Revoke(ctxT(t), 1); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("Revoke: %v, want ErrLeaseNotFound", err)
	}
	var ee *etcd.Error
	cli = fakeGateway(t, http.StatusServiceUnavailable, `{"error":"etcdserver: no leader","code":14}`)
	if _, err := cli.Get(ctxT(t), "k"); !errors.As(err, &ee) || ee.Code != 14 || ee.Message != "etcdserver: no leader" || errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("Get: %v, want the gateway's error", err)
	}
	cli = fakeGateway(t, http.StatusBadGateway, `<html>bad gateway</html>`)
	if _, err := cli.Get(ctxT(t), "k"); err == nil || !strings.Contains(err.Error(), "http 502") {
		t.Fatalf("Get on a 502: %v", err)
	}
	cli = fakeGateway(t, http.StatusOK, `{"header":{"revision":"x"}}`)
	if _, err := cli.Get(ctxT(t), "k"); err == nil || !strings.Contains(err.Error(), "garbled") {
		t.Fatalf("Get on a garbled answer: %v", err)
	}
	cli = fakeGateway(t, http.StatusOK, `{"kvs":[{"key":"`+strings.Repeat("A", etcd.MaxMessage)+`"}]}`)
	if _, err := cli.Get(ctxT(t), "k"); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("Get on an oversize answer: %v", err)
	}
	cli = fakeGateway(t, http.StatusOK, `{"result":{}}`)
	if _, err := cli.KeepAliveOnce(ctxT(t), 1); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("KeepAliveOnce with TTL 0: %v, want ErrLeaseNotFound", err)
	}
}

func watchErr(t *testing.T, body string) error {
	t.Helper()
	cli := fakeGateway(t, http.StatusOK, body)
	var last error
	timeout := time.After(10 * time.Second)
	for ch := cli.Watch(ctxT(t), "k", etcd.WatchOptions{}); ; {
		select {
		case wr, ok := <-ch:
			if !ok {
				return last
			}
			last = wr.Err
		case <-timeout:
			t.Fatal("watch not closed in 10s")
		}
	}
}

func TestWatchStreamErrors(t *testing.T) {
	created := `{"result":{"header":{"revision":"3"},"created":true}}` + "\n"
	cases := map[string]struct{ body, want string }{
		"stream error":  {created + `{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}` + "\n", "no leader"},
		"cancelled":     {created + `{"result":{"canceled":true,"compact_revision":"9","cancel_reason":"compacted"}}` + "\n", "compact revision 9"},
		"garbled":       {created + "{nope\n", "garbled"},
		"bad type":      {created + `{"result":{"events":[{"type":"EXPLODE","kv":{}}]}}` + "\n", "EXPLODE"},
		"oversize line": {created + `{"result":{"events":[{"kv":{"key":"` + strings.Repeat("A", etcd.MaxMessage) + `"}}]}}` + "\n", "exceeds"},
		"ended":         {created, "stream ended"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := watchErr(t, c.body); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("watch error %v, want %q", err, c.want)
			}
		})
	}
}

// TestCloseEndsRequests: a request in flight ends when the client closes.
func TestCloseEndsRequests(t *testing.T) {
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-hold
	}))
	defer srv.Close()
	defer close(hold)
	cli, err := etcd.New(etcd.Config{Endpoints: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := cli.Get(context.Background(), "k"); done <- err }()
	<-arrived
	_ = cli.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Get answered after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get still running 10 s after Close")
	}
	if _, err := cli.Get(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Get after Close: %v", err)
	}
}
