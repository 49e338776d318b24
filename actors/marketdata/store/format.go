package store

import "strconv"

// FormatSize renders a size in bytes for people: "0 B", "512 B",
// "1.5 KiB", "25.2 MiB", "3.0 GiB" (binary units, one decimal).
func FormatSize(bytes int64) string {
	if bytes < 1024 {
		return strconv.FormatInt(bytes, 10) + " B"
	}
	const units = "KMGTPE"
	v := float64(bytes) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}
