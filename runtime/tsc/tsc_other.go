//go:build !amd64

package tsc

import "time"

var origin = time.Now()

func rdtscp() (uint64, uint32) { return uint64(time.Since(origin)), 0 }

const haveTSC = false
