package webui

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The password hash scheme: PBKDF2 (RFC 8018) with HMAC-SHA-256 from the
// standard library, written "pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX".
// Python makes one with (600000 iterations is OWASP's figure)
//
//	hashlib.pbkdf2_hmac("sha256", password, salt, iterations).hex()
const hashScheme = "pbkdf2-sha256"

// Bounds of a configured hash: below minIterations a hash is too cheap to
// guess at; above maxIterations one login would take the CPU for minutes.
const (
	minIterations = 10_000
	maxIterations = 10_000_000
	minSaltBytes  = 8
	maxSaltBytes  = 64
	hashBytes     = 32
)

// passwordHash is a parsed password_hash.
type passwordHash struct {
	iterations int
	salt, key  []byte
}

// parseHash parses a password_hash; its errors never quote the value.
func parseHash(s string) (*passwordHash, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != hashScheme {
		return nil, errors.New(`want "pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX"`)
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < minIterations || n > maxIterations {
		return nil, fmt.Errorf("iterations must be a number between %d and %d", minIterations, maxIterations)
	}
	salt, err := hex.DecodeString(parts[2])
	if err != nil || len(salt) < minSaltBytes || len(salt) > maxSaltBytes {
		return nil, fmt.Errorf("salt must be %d to %d bytes in hex", minSaltBytes, maxSaltBytes)
	}
	key, err := hex.DecodeString(parts[3])
	if err != nil || len(key) != hashBytes {
		return nil, fmt.Errorf("hash must be %d bytes in hex", hashBytes)
	}
	return &passwordHash{iterations: n, salt: salt, key: key}, nil
}

// check reports, in constant time as to the key, whether password matches.
func (h *passwordHash) check(password string) bool {
	if h == nil || password == "" {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, h.salt, h.iterations, hashBytes)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1
}
