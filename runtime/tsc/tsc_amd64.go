package tsc

func rdtsc() uint64

const haveTSC = true
