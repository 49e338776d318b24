package tsc

func rdtscp() (ticks uint64, cpu uint32)

const haveTSC = true
