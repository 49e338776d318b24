package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// appendRequest appends a request line to b as json.Marshal of request
// renders it (except that '<', '>' and '&' in params are not escaped): the
// hot path of every call.
func appendRequest(b []byte, method string, params json.RawMessage, id uint64) []byte {
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	if plainString(method) {
		b = append(append(append(b, '"'), method...), '"')
	} else {
		enc, _ := json.Marshal(method) // a string always encodes
		b = append(b, enc...)
	}
	if len(params) > 0 { // compacted: a line holds one message
		b = append(b, `,"params":`...)
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, params); err != nil {
			buf.Write(params) // cannot happen: encodeParams checked params are JSON
		}
		b = buf.Bytes()
	}
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, '}')
}

// plainString: s needs no escaping in JSON (printable ASCII without '"',
// '\\' or the characters encoding/json escapes for HTML).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func (r reply) decode(method string, result any) error {
	if r.err != nil {
		return r.err
	}
	if r.msg.Error != nil {
		return r.msg.Error
	}
	switch v := result.(type) {
	case nil:
		return nil
	case *json.RawMessage:
		*v = append(json.RawMessage(nil), r.msg.Result...)
		return nil
	}
	if err := json.Unmarshal(r.msg.Result, result); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

// encodeParams marshals params and checks that they are an object or an
// array, as JSON-RPC requires. nil means no params.
func encodeParams(params any) (json.RawMessage, error) {
	var raw []byte
	switch v := params.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw = bytes.TrimSpace(v)
		if len(raw) == 0 {
			return nil, nil
		}
		if !json.Valid(raw) {
			return nil, errors.New("params are not valid JSON")
		}
	default:
		var err error
		if raw, err = json.Marshal(params); err != nil {
			return nil, fmt.Errorf("encode params: %w", err)
		}
	}
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' && raw[0] != '[' {
		return nil, errors.New("params must be a JSON object or array")
	}
	return raw, nil
}
