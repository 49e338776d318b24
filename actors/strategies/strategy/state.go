package strategy

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrBadState is wrapped by Decoder errors: the bytes are not a state this
// code wrote.
var ErrBadState = errors.New("bad strategy state")

// Encoder appends fixed-size little-endian values: a simple way to write
// Save. Its zero value is ready.
type Encoder struct {
	B []byte
}

// Uint64 appends v.
func (e *Encoder) Uint64(v uint64) { e.B = binary.LittleEndian.AppendUint64(e.B, v) }

// Int64 appends v.
func (e *Encoder) Int64(v int64) { e.Uint64(uint64(v)) }

// Float64 appends v.
func (e *Encoder) Float64(v float64) { e.Uint64(math.Float64bits(v)) }

// Bool appends v.
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Decoder reads what an Encoder wrote. Reads past the end return zero and
// set Err; check Err (or call Finish) once at the end.
type Decoder struct {
	B   []byte
	Err error
}

// Uint64 reads a uint64.
func (d *Decoder) Uint64() uint64 {
	if len(d.B) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.B)
	d.B = d.B[8:]
	return v
}

// Int64 reads an int64.
func (d *Decoder) Int64() int64 { return int64(d.Uint64()) }

// Float64 reads a float64.
func (d *Decoder) Float64() float64 { return math.Float64frombits(d.Uint64()) }

// Bool reads a bool.
func (d *Decoder) Bool() bool {
	if len(d.B) < 1 {
		d.fail()
		return false
	}
	v := d.B[0]
	d.B = d.B[1:]
	if v > 1 {
		d.Err = errors.Join(d.Err, ErrBadState)
	}
	return v == 1
}

// Len reads a count written with Uint64 and checks it against max (and
// against the bytes left, at elemSize bytes each) before the caller
// allocates for it.
func (d *Decoder) Len(max, elemSize int) int {
	n := d.Uint64()
	if d.Err != nil {
		return 0
	}
	if n > uint64(max) || (elemSize > 0 && n*uint64(elemSize) > uint64(len(d.B))) {
		d.fail()
		return 0
	}
	return int(n)
}

// Finish returns Err, or an error if bytes are left over.
func (d *Decoder) Finish() error {
	if d.Err == nil && len(d.B) != 0 {
		d.fail()
	}
	return d.Err
}

func (d *Decoder) fail() {
	if d.Err == nil {
		d.Err = ErrBadState
	}
	d.B = nil
}

// Bytes appends b with its length.
func (e *Encoder) Bytes(b []byte) {
	e.Uint64(uint64(len(b)))
	e.B = append(e.B, b...)
}

// Bytes reads what Encoder.Bytes wrote, at most max bytes. The result
// aliases the decoder's input.
func (d *Decoder) Bytes(max int) []byte {
	n := d.Len(max, 1)
	if d.Err != nil {
		return nil
	}
	b := d.B[:n:n]
	d.B = d.B[n:]
	return b
}
