package messages

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// AppendJSON appends m as every JSON-RPC answer and notification shows it,
// the one encoder clients see: the proto3 JSON mapping with proto field
// names, zero scalars and empty lists and maps shown, unset message fields
// left out, and two differences from protojson:
//
//   - 64-bit integers are JSON numbers, not strings ("sequence":56);
//   - an Any is shown as the message it holds, without "@type" (internal
//     type names are not part of the protocol); an Any holding a well-known
//     type (a google.protobuf.Value) is shown as that type's JSON.
//
// Messages with a hand-written renderer (JSONAppender: daemon.status) skip
// the reflection. On error it returns b as it was.
func AppendJSON(b []byte, m proto.Message) ([]byte, error) {
	var out []byte
	var err error
	if a, ok := m.(JSONAppender); ok {
		out, err = a.AppendJSON(b)
	} else {
		out, err = appendMessage(b, m.ProtoReflect())
	}
	if err != nil {
		return b, err
	}
	return out, nil
}

// errJSON is wrapped by every AppendJSON error.
var errJSON = errors.New("json")

func appendMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	if wkt, ok := wellKnown[m.Descriptor().FullName()]; ok {
		return wkt(b, m)
	}
	fields := m.Descriptor().Fields()
	b = append(b, '{')
	first := true
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.HasPresence() && !m.Has(fd) { // unset messages, optionals, oneof members
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, string(fd.Name()))
		b = append(b, ':')
		var err error
		if b, err = appendField(b, fd, m.Get(fd)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendField(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	var err error
	switch {
	case fd.IsList():
		l := v.List()
		b = append(b, '[')
		for i := range l.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendSingular(b, fd, l.Get(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case fd.IsMap():
		return appendMap(b, fd, v.Map())
	}
	return appendSingular(b, fd, v)
}

// appendMap writes a map's entries sorted by key, as protojson does.
func appendMap(b []byte, fd protoreflect.FieldDescriptor, m protoreflect.Map) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, m.Len())
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.SortFunc(keys, compareMapKeys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k.String())
		b = append(b, ':')
		if b, err = appendSingular(b, fd.MapValue(), m.Get(k)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func compareMapKeys(x, y protoreflect.MapKey) int {
	switch x.Interface().(type) {
	case string:
		return strings.Compare(x.String(), y.String())
	case bool:
		return cmp.Compare(boolInt(x.Bool()), boolInt(y.Bool()))
	case int32, int64:
		return cmp.Compare(x.Int(), y.Int())
	default:
		return cmp.Compare(x.Uint(), y.Uint())
	}
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func appendSingular(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case protoreflect.FloatKind:
		return appendFloatBits(b, v.Float(), 32), nil
	case protoreflect.DoubleKind:
		return appendFloatBits(b, v.Float(), 64), nil
	case protoreflect.StringKind:
		return appendJSONString(b, v.String()), nil
	case protoreflect.BytesKind:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes())
		return append(b, '"'), nil
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return append(b, "null"...), nil
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return appendJSONString(b, string(ev.Name())), nil
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return appendMessage(b, v.Message())
	}
	return nil, fmt.Errorf("%w: field %s: unsupported kind %s", errJSON, fd.FullName(), fd.Kind())
}

// wellKnown renders the google.protobuf types that have a JSON form of
// their own (Empty needs none: it is {}).
var wellKnown map[protoreflect.FullName]func([]byte, protoreflect.Message) ([]byte, error)

func init() { // an initialisation cycle otherwise: appendMessage reads the table
	wellKnown = map[protoreflect.FullName]func([]byte, protoreflect.Message) ([]byte, error){
		"google.protobuf.Any":         appendAnyJSON,
		"google.protobuf.Timestamp":   appendTimestampJSON,
		"google.protobuf.Duration":    appendDurationJSON,
		"google.protobuf.Struct":      appendStructJSON,
		"google.protobuf.Value":       appendValueJSON,
		"google.protobuf.ListValue":   appendListValueJSON,
		"google.protobuf.FieldMask":   appendFieldMaskJSON,
		"google.protobuf.DoubleValue": appendWrapperJSON,
		"google.protobuf.FloatValue":  appendWrapperJSON,
		"google.protobuf.Int64Value":  appendWrapperJSON,
		"google.protobuf.UInt64Value": appendWrapperJSON,
		"google.protobuf.Int32Value":  appendWrapperJSON,
		"google.protobuf.UInt32Value": appendWrapperJSON,
		"google.protobuf.BoolValue":   appendWrapperJSON,
		"google.protobuf.StringValue": appendWrapperJSON,
		"google.protobuf.BytesValue":  appendWrapperJSON,
	}
}

// field returns the value of m's field number n.
func field(m protoreflect.Message, n protoreflect.FieldNumber) protoreflect.Value {
	return m.Get(m.Descriptor().Fields().ByNumber(n))
}

// appendAnyJSON shows the message an Any holds, without its type URL; an
// empty Any is {}.
func appendAnyJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	url := field(m, 1).String()
	if url == "" {
		return append(b, "{}"...), nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(url)
	if err != nil {
		return nil, fmt.Errorf("%w: any: %w", errJSON, err)
	}
	inner := mt.New()
	if err := (proto.UnmarshalOptions{}).Unmarshal(field(m, 2).Bytes(), inner.Interface()); err != nil {
		return nil, fmt.Errorf("%w: any %s: %w", errJSON, mt.Descriptor().FullName(), err)
	}
	return appendMessage(b, inner)
}

func appendTimestampJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	return appendJSONTime(b, field(m, 1).Int(), int32(field(m, 2).Int()))
}

// maxDurationSeconds bounds a Duration's JSON form (about 10,000 years).
const maxDurationSeconds = 315576000000

// appendDurationJSON writes "1.5s": seconds with 0, 3, 6 or 9 fractional
// digits, as protojson does.
func appendDurationJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	secs, nanos := field(m, 1).Int(), field(m, 2).Int()
	if secs < -maxDurationSeconds || secs > maxDurationSeconds || nanos <= -1e9 || nanos >= 1e9 ||
		(secs > 0 && nanos < 0) || (secs < 0 && nanos > 0) {
		return nil, fmt.Errorf("%w: google.protobuf.Duration out of range", errJSON)
	}
	b = append(b, '"')
	if secs < 0 || nanos < 0 {
		b = append(b, '-')
		secs, nanos = -secs, -nanos
	}
	b = strconv.AppendInt(b, secs, 10)
	b = appendFraction(b, int32(nanos))
	return append(b, 's', '"'), nil
}

func appendStructJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	fd := m.Descriptor().Fields().ByNumber(1)
	return appendMap(b, fd, m.Get(fd).Map())
}

// appendValueJSON writes a google.protobuf.Value as the JSON value it
// holds; a Value with no kind set is null.
func appendValueJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
	if fd == nil {
		return append(b, "null"...), nil
	}
	return appendSingular(b, fd, m.Get(fd))
}

func appendListValueJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	fd := m.Descriptor().Fields().ByNumber(1)
	return appendField(b, fd, m.Get(fd))
}

func appendWrapperJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	fd := m.Descriptor().Fields().ByNumber(1)
	return appendSingular(b, fd, m.Get(fd))
}

// appendFieldMaskJSON writes the paths comma-separated, in lowerCamelCase.
func appendFieldMaskJSON(b []byte, m protoreflect.Message) ([]byte, error) {
	paths := field(m, 1).List()
	var sb strings.Builder
	for i := range paths.Len() {
		if i > 0 {
			sb.WriteByte(',')
		}
		up := false
		for _, r := range paths.Get(i).String() {
			switch {
			case r == '_':
				up = true
			case up && r >= 'a' && r <= 'z':
				sb.WriteRune(r - 'a' + 'A')
				up = false
			default:
				sb.WriteRune(r)
				up = false
			}
		}
	}
	return appendJSONString(b, sb.String()), nil
}
