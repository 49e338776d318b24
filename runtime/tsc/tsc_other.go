//go:build !amd64

package tsc

import "time"

var origin = time.Now()

func rdtsc() uint64 { return uint64(time.Since(origin)) }

const haveTSC = false
