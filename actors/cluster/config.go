package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the [cluster] section. Clustering is off by default: a single
// node needs no etcd, no remote port and no cluster actor.
type Config struct {
	// Enabled turns clustering on: protoactor's remote on the daemon's
	// actor system, an etcd client, and the cluster actor. Default false.
	Enabled bool `toml:"enabled"`
	// Node is this node's name in the cluster; empty means daemon.node.
	// Default "".
	Node string `toml:"node"`
	// Listen is the host:port the remote (gRPC) server binds. Default
	// "127.0.0.1:7946".
	Listen string `toml:"listen"`
	// Advertise is the host:port other nodes dial; empty means Listen.
	// Default "".
	Advertise string `toml:"advertise"`
	// Etcd lists the etcd endpoints (host:port or URLs). Default
	// ["127.0.0.1:2379"].
	Etcd []string `toml:"etcd"`
	// LeaseTTL is the membership lease and the trading election's: a node
	// that stops refreshing it leaves the member list (and loses the
	// trading lead) this long after. Whole seconds, at least 1s. etcd
	// raises a shorter lease to its minimum, 1.5 election timeouts rounded
	// up to a second: 2 s with etcd's default election timeout (1 s), 1 s
	// with --election-timeout <= 600 ms. Default "2s".
	LeaseTTL time.Duration `toml:"lease_ttl"`
	// KeyPrefix prefixes every etcd key the cluster writes. Default
	// "/superbot/".
	KeyPrefix string `toml:"key_prefix"`
	// DialTimeout bounds connecting to etcd and each etcd request.
	// Default "5s".
	DialTimeout time.Duration `toml:"dial_timeout"`
	// TLS secures the remote (gRPC) connections between nodes ([cluster.tls]);
	// all empty means plaintext.
	TLS TLSFiles `toml:"tls"`
	// EtcdTLS secures the etcd client ([cluster.etcd_tls]); all empty means
	// plaintext.
	EtcdTLS TLSFiles `toml:"etcd_tls"`
}

// TLSFiles names PEM files: a certificate and its key (both or neither),
// and a CA bundle that verifies the peer.
type TLSFiles struct {
	// Cert is the certificate (PEM). Default "".
	Cert string `toml:"cert"`
	// Key is the certificate's private key (PEM). Default "".
	Key string `toml:"key"`
	// CA is the CA bundle (PEM) that verifies the peer. Default "".
	CA string `toml:"ca"`
}

// DefaultConfig returns the [cluster] defaults: off.
func DefaultConfig() Config {
	return Config{
		Listen:      "127.0.0.1:7946",
		Etcd:        []string{"127.0.0.1:2379"},
		LeaseTTL:    2 * time.Second,
		KeyPrefix:   "/superbot/",
		DialTimeout: 5 * time.Second,
	}
}

// maxEndpoints bounds the etcd endpoint list.
const maxEndpoints = 32

// Validate reports every problem at once, each prefixed with its key. When
// clustering is off only the shapes are checked; when it is on the TLS
// files must exist and load.
func (c Config) Validate() error {
	var errs []error
	if strings.ContainsAny(c.Node, " \t\r\n/") {
		errs = append(errs, fmt.Errorf("node: must not contain spaces or '/', got %q", c.Node))
	}
	if _, _, err := SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %w", err))
	}
	if c.Advertise != "" {
		if host, port, err := SplitHostPort(c.Advertise); err != nil {
			errs = append(errs, fmt.Errorf("advertise: %w", err))
		} else if port == 0 || host == "" || host == "0.0.0.0" || host == "::" {
			errs = append(errs, fmt.Errorf("advertise: must name a host and a port other nodes can dial, got %q", c.Advertise))
		}
	}
	if c.Enabled && len(c.Etcd) == 0 {
		errs = append(errs, errors.New("etcd: at least one endpoint is required when enabled"))
	}
	if len(c.Etcd) > maxEndpoints {
		errs = append(errs, fmt.Errorf("etcd: at most %d endpoints, got %d", maxEndpoints, len(c.Etcd)))
	}
	for i, e := range c.Etcd {
		if e == "" || strings.ContainsAny(e, " \t\r\n") {
			errs = append(errs, fmt.Errorf("etcd[%d]: not an endpoint: %q", i, e))
		}
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL%time.Second != 0 {
		errs = append(errs, fmt.Errorf("lease_ttl: must be whole seconds and >= 1s, got %s", c.LeaseTTL))
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("dial_timeout: must be > 0, got %s", c.DialTimeout))
	}
	if !strings.HasPrefix(c.KeyPrefix, "/") || !strings.HasSuffix(c.KeyPrefix, "/") || len(c.KeyPrefix) > 128 {
		errs = append(errs, fmt.Errorf("key_prefix: must start and end with '/' (at most 128 bytes), got %q", c.KeyPrefix))
	}
	if c.Enabled {
		if err := c.TLS.check(); err != nil {
			errs = append(errs, fmt.Errorf("tls.%w", err))
		}
		if err := c.EtcdTLS.check(); err != nil {
			errs = append(errs, fmt.Errorf("etcd_tls.%w", err))
		}
	}
	return errors.Join(errs...)
}

// SplitHostPort splits a listen address into host and port (0..65535).
func SplitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("not host:port: %q", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return host, port, nil
}

// Enabled reports whether any file is named.
func (t TLSFiles) Enabled() bool { return t.Cert != "" || t.Key != "" || t.CA != "" }

// check loads the files; errors are prefixed with the key.
func (t TLSFiles) check() error {
	if !t.Enabled() {
		return nil
	}
	_, err := t.Load(false)
	return err
}

// maxPEMBytes bounds a PEM file read.
const maxPEMBytes = 1 << 20

// Load builds a tls.Config from the files: the key pair as this side's
// certificate, the CA as the roots that verify the peer (server: client
// certificates are then required). Errors name the key: "cert: ...".
func (t TLSFiles) Load(server bool) (*tls.Config, error) {
	if (t.Cert == "") != (t.Key == "") {
		return nil, errors.New("cert, key: give both or neither")
	}
	if t.CA == "" {
		return nil, errors.New("ca: required to verify the peer")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.Cert != "" {
		if err := checkPEM(t.Cert); err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
		if err := checkPEM(t.Key); err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if err := checkPEM(t.CA); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	pem, err := os.ReadFile(t.CA)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca: no PEM certificate in %s", t.CA)
	}
	if server {
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	} else {
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// checkPEM checks a file exists and is not over maxPEMBytes.
func checkPEM(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() > maxPEMBytes {
		return fmt.Errorf("%s: larger than %d bytes", path, maxPEMBytes)
	}
	return nil
}
