package busredis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/messages"
)

// ImportedSource is the source of an event imported from Redis whose
// message names none; one that names a source gets ImportedSource+":"+it.
// The bridge never exports an event with such a source back to Redis.
const ImportedSource = "redis"

// maxSourceLen bounds the source an imported message may name, in bytes.
const maxSourceLen = 128

// isImported reports whether ev came onto the bus from Redis.
func isImported(ev *messages.Event) bool {
	s := ev.GetSource()
	return s == ImportedSource || strings.HasPrefix(s, ImportedSource+":")
}

// appendExport appends ev as the JSON message exported to Redis:
// {"topic","source","timestamp" (Unix seconds),"node","sequence","origin","data"}.
func appendExport(b []byte, ev *messages.Event, origin string) ([]byte, error) {
	b = append(b, `{"topic":`...)
	b = appendString(b, ev.GetTopic())
	b = append(b, `,"source":`...)
	b = appendString(b, ev.GetSource())
	b = append(b, `,"timestamp":`...)
	t := ev.GetTime().AsTime()
	b = strconv.AppendFloat(b, float64(t.Unix())+float64(t.Nanosecond()/1000)/1e6, 'f', -1, 64)
	b = append(b, `,"node":`...)
	b = appendString(b, ev.GetNode())
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, ev.GetSequence(), 10)
	b = append(b, `,"origin":`...)
	b = appendString(b, origin)
	b = append(b, `,"data":`...)
	if ev.GetPayload() == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = messages.AppendJSON(b, ev.GetPayload()); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// dropReason says why a message from Redis was not imported.
type dropReason int

const (
	imported dropReason = iota
	dropEcho
	dropBadJSON
	dropBadTopic
	dropOversize
)

func (r dropReason) String() string {
	switch r {
	case dropEcho:
		return "echo"
	case dropBadJSON:
		return "invalid event json"
	case dropBadTopic:
		return "topic not importable"
	case dropOversize:
		return "oversize"
	}
	return "imported"
}

// importer turns messages from Redis into bus events.
type importer struct {
	prefix   string
	patterns []string
	maxBytes int
	origin   string
}

// decode checks a message published on channel and returns its event, or
// why it is dropped (with the detail to log). Its "data" becomes the
// event's payload, a google.protobuf.Value.
func (im *importer) decode(channel, payload string) (*messages.Event, dropReason, error) {
	if len(payload) > im.maxBytes {
		return nil, dropOversize, errors.New("message over max_message_bytes")
	}
	topic, err := im.topic(channel)
	if err != nil {
		return nil, dropBadTopic, err
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		return nil, dropBadJSON, err
	}
	if msg == nil {
		return nil, dropBadJSON, errors.New("not a JSON object")
	}
	in, err := readInbound(msg)
	if err != nil {
		return nil, dropBadJSON, err
	}
	if in.origin != "" && in.origin == im.origin {
		return nil, dropEcho, nil
	}
	if in.topic != nil && *in.topic != topic {
		return nil, dropBadTopic, errors.New("topic differs from the channel's")
	}
	ev := &messages.Event{Topic: topic, Source: ImportedSource}
	if in.source != "" {
		if len(in.source) > maxSourceLen || strings.ContainsFunc(in.source, unicode.IsControl) {
			return nil, dropBadJSON, errors.New("invalid source")
		}
		ev.Source = ImportedSource + ":" + in.source
	}
	if ev.Time, err = eventTime(in.timestamp); err != nil {
		return nil, dropBadJSON, err
	}
	if in.data != nil {
		v, err := structpb.NewValue(in.data)
		if err != nil {
			return nil, dropBadJSON, err
		}
		if ev.Payload, err = anypb.New(v); err != nil {
			return nil, dropBadJSON, err
		}
	}
	return ev, imported, nil
}

// inbound is what an imported message says.
type inbound struct {
	topic     *string
	data      any // nil for none or JSON null
	source    string
	timestamp *float64
	origin    string
}

// readInbound reads a message's keys: "data" (any JSON) and the optional
// "topic", "source", "timestamp", "node", "sequence" and "origin"; any
// other key, or a key of the wrong type, is an error.
func readInbound(fields map[string]any) (inbound, error) {
	var in inbound
	for k, v := range fields {
		var ok bool
		switch k {
		case "data":
			in.data, ok = v, true
		case "topic":
			var s string
			s, ok = v.(string)
			in.topic = &s
		case "source":
			in.source, ok = v.(string)
		case "origin":
			in.origin, ok = v.(string)
		case "node":
			_, ok = v.(string)
		case "timestamp":
			var f float64
			f, ok = v.(float64)
			in.timestamp = &f
		case "sequence":
			_, ok = v.(float64)
		default:
			return in, fmt.Errorf("unknown key %q", clip(k, 40))
		}
		if !ok {
			return in, fmt.Errorf("key %q: wrong type", clip(k, 40))
		}
	}
	return in, nil
}

// topic is the topic of channel: importable and not the daemon's own.
func (im *importer) topic(channel string) (string, error) {
	topic, ok := strings.CutPrefix(channel, im.prefix)
	if !ok {
		return "", errors.New("channel without the prefix")
	}
	if err := bus.ValidateTopic(topic); err != nil {
		return "", err
	}
	if !slices.ContainsFunc(im.patterns, func(p string) bool { return bus.Match(p, topic) }) {
		return "", errors.New("topic outside the import patterns")
	}
	if first, _, _ := strings.Cut(topic, "."); slices.Contains(bus.Reserved, first) {
		return "", errors.New("topic published by the daemon only")
	}
	return topic, nil
}

// eventTime is the time of a message's timestamp (Unix seconds), or now.
func eventTime(ts *float64) (*timestamppb.Timestamp, error) {
	if ts == nil {
		return timestamppb.Now(), nil
	}
	if math.IsNaN(*ts) || *ts <= 0 || *ts > 1e11 {
		return nil, errors.New("timestamp out of range")
	}
	sec, frac := math.Modf(*ts)
	return timestamppb.New(time.Unix(int64(sec), int64(frac*1e9))), nil
}

// globs are the Redis PSUBSCRIBE patterns that cover the import patterns:
// "*" and ">" become Redis's "*" (which also crosses dots: decode checks
// the topic against the bus pattern).
func globs(prefix string, patterns []string) []string {
	out := make([]string, 0, len(patterns))
	for _, p := range patterns {
		g := prefix + strings.ReplaceAll(p, ">", "*")
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}
