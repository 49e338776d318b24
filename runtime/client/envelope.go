package client

import (
	"bytes"
	"encoding/json"

	"github.com/superbot/superbot/actors/rpc/jsonobj"
)

// parseMessage splits one JSON-RPC object into m in a single pass: the
// values of id, params and result are kept raw (the caller decodes result
// into what it asked for, once), only method and error are decoded. It
// reports false for anything it does not fully understand (a key with an
// escape, a broken structure, trailing bytes), and the caller falls back to
// encoding/json, which then names the problem. Large results cost one scan
// instead of encoding/json's validation pass plus its decoding pass.
func parseMessage(line []byte, m *message) bool {
	var seen uint
	return jsonobj.Members(line, func(key, raw []byte) bool {
		if bytes.IndexByte(key, '\\') >= 0 {
			return false
		}
		known := knownKey(key)
		switch {
		case known < 0:
			return !foldsToKnown(key) // encoding/json matches keys case-insensitively
		case seen&(1<<known) != 0:
			return false // a repeated key: leave it to encoding/json
		}
		seen |= 1 << known
		switch envelopeKeys[known] {
		case "id":
			m.ID = raw
		case "params":
			m.Params = raw
		case "result":
			m.Result = raw
		case "method":
			if json.Unmarshal(raw, &m.Method) != nil {
				return false
			}
		case "error":
			if !bytes.Equal(raw, []byte("null")) {
				m.Error = &Error{}
				if json.Unmarshal(raw, m.Error) != nil {
					return false
				}
			}
		}
		return true
	})
}

var envelopeKeys = [...]string{"jsonrpc", "id", "method", "params", "result", "error"}

func knownKey(name []byte) int {
	for i, k := range envelopeKeys {
		if string(name) == k {
			return i
		}
	}
	return -1
}

func foldsToKnown(name []byte) bool {
	for _, k := range envelopeKeys {
		if bytes.EqualFold(name, []byte(k)) {
			return true
		}
	}
	return false
}
