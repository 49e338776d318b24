package webui

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// hashPassword makes a password_hash of password with a random salt.
func hashPassword(password string, iterations int) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, hashBytes)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d:%x:%x", hashScheme, iterations, salt, key), nil
}

// HashPasswordCheap is hashPassword with the fewest iterations a config
// accepts: tests log in many times.
func HashPasswordCheap(password string) (string, error) { return hashPassword(password, minIterations) }
