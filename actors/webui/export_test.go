package webui

// HashPasswordCheap is hashPassword with the fewest iterations a config
// accepts: tests log in many times.
func HashPasswordCheap(password string) (string, error) { return hashPassword(password, minIterations) }
