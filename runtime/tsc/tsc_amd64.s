#include "textflag.h"

// func rdtscp() (ticks uint64, cpu uint32)
TEXT ·rdtscp(SB),NOSPLIT,$0-12
	RDTSCP
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ticks+0(FP)
	MOVL CX, cpu+8(FP)
	RET
