package rpc

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// OpenRPCVersion is the version of the OpenRPC specification Discover's
// documents follow.
const OpenRPCVersion = "1.2.6"

// ErrorDoc is one error a method may answer with, for Discover.
type ErrorDoc struct {
	Name    string // the key under components.errors, e.g. "NotFound"
	Code    int
	Message string
}

// Discover builds an OpenRPC document of routes: each method with its
// params (the request message's fields, by name or by position), its
// result (the response message, without its error field, which becomes
// the JSON-RPC error) and the errors it may answer with. Messages are JSON
// schemas under components.schemas, referenced by name; their JSON is
// messages.AppendJSON's (proto field names, 64-bit integers as numbers).
func Discover(title, version string, routes []Route, errs []ErrorDoc) ([]byte, error) {
	g := &schemaGen{schemas: map[string]any{}}
	errorRefs := make([]any, 0, len(errs))
	components := map[string]any{}
	for _, e := range errs {
		components[e.Name] = map[string]any{"code": e.Code, "message": e.Message}
		errorRefs = append(errorRefs, map[string]any{"$ref": "#/components/errors/" + e.Name})
	}
	sorted := append([]Route(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Method < sorted[j].Method })
	methods := make([]any, 0, len(sorted))
	for _, rt := range sorted {
		m, err := g.method(rt)
		if err != nil {
			return nil, err
		}
		m["errors"] = errorRefs
		methods = append(methods, m)
	}
	doc := map[string]any{
		"openrpc": OpenRPCVersion,
		"info":    map[string]any{"title": title, "version": version},
		"methods": methods,
		"components": map[string]any{
			"schemas": g.schemas,
			"errors":  components,
		},
	}
	return json.Marshal(doc)
}

// ResultOf is the response message of rt: rt.Result, or else the message
// named as the request with "Response" for "Request" (ModuleStartRequest:
// ModuleStartResponse); nil when there is none.
func ResultOf(rt Route) proto.Message {
	if rt.Result != nil {
		return rt.Result()
	}
	name := rt.New().ProtoReflect().Descriptor().FullName()
	base, ok := strings.CutSuffix(string(name), "Request")
	if !ok {
		return nil
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(base + "Response"))
	if err != nil {
		return nil
	}
	return mt.New().Interface()
}

type schemaGen struct {
	schemas map[string]any // by message full name
}

func (g *schemaGen) method(rt Route) (map[string]any, error) {
	if rt.New == nil {
		return nil, fmt.Errorf("route %s: no request message", rt.Method)
	}
	req := rt.New().ProtoReflect().Descriptor()
	params := []any{}
	switch {
	case req.FullName() == "google.protobuf.Empty": // no params
	case wellKnownSchema(req.FullName()) == nil: // a message whose fields are the params
		fields := req.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			params = append(params, map[string]any{"name": string(fd.Name()), "schema": g.field(fd)})
		}
	default: // a Struct or Value takes the params whole
		params = append(params, map[string]any{"name": "params", "schema": g.message(req, false)})
	}
	m := map[string]any{
		"name":           rt.Method,
		"summary":        rt.Doc,
		"paramStructure": "either",
		"params":         params,
	}
	result := map[string]any{"name": "result", "schema": map[string]any{}}
	if res := ResultOf(rt); res != nil {
		result["schema"] = g.message(res.ProtoReflect().Descriptor(), true)
	}
	m["result"] = result
	return m, nil
}

// message returns the schema of md: a well-known type inline, else a
// reference to components.schemas (built once; recursion ends there). A
// response's error field is left out (asResult): it becomes the JSON-RPC
// error, never part of a result.
func (g *schemaGen) message(md protoreflect.MessageDescriptor, asResult bool) any {
	if s := wellKnownSchema(md.FullName()); s != nil {
		return s
	}
	name := string(md.FullName())
	if asResult {
		name += ".result"
	}
	ref := map[string]any{"$ref": "#/components/schemas/" + name}
	if _, done := g.schemas[name]; done {
		return ref
	}
	props := map[string]any{}
	g.schemas[name] = map[string]any{"type": "object", "properties": props} // before the fields: recursion
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if asResult && fd.Name() == "error" && fd.Message() != nil && fd.Message().FullName() == "superbot.v1.Error" {
			continue
		}
		props[string(fd.Name())] = g.field(fd)
	}
	return ref
}

func (g *schemaGen) field(fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		return map[string]any{"type": "object", "additionalProperties": g.singular(fd.MapValue())}
	case fd.IsList():
		return map[string]any{"type": "array", "items": g.singular(fd)}
	}
	return g.singular(fd)
}

func (g *schemaGen) singular(fd protoreflect.FieldDescriptor) any {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return map[string]any{"type": "boolean"}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return map[string]any{"type": "integer", "format": "int32"}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return map[string]any{"type": "integer", "format": "int64"}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return map[string]any{"type": "integer", "format": "uint32", "minimum": 0}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return map[string]any{"type": "integer", "format": "uint64", "minimum": 0}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return map[string]any{"type": "number"}
	case protoreflect.StringKind:
		return map[string]any{"type": "string"}
	case protoreflect.BytesKind:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == "google.protobuf.NullValue" {
			return map[string]any{"type": "null"}
		}
		vals := fd.Enum().Values()
		names := make([]string, vals.Len())
		for i := range vals.Len() {
			names[i] = string(vals.Get(i).Name())
		}
		return map[string]any{"type": "string", "enum": names}
	}
	return g.message(fd.Message(), false)
}

// wellKnownSchema is the schema of a google.protobuf type with a JSON form
// of its own, or nil.
func wellKnownSchema(name protoreflect.FullName) map[string]any {
	switch name {
	case "google.protobuf.Timestamp":
		return map[string]any{"type": "string", "format": "date-time"}
	case "google.protobuf.Duration":
		return map[string]any{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]+)?s$`}
	case "google.protobuf.Struct", "google.protobuf.Empty":
		return map[string]any{"type": "object"}
	case "google.protobuf.Value":
		return map[string]any{}
	case "google.protobuf.ListValue":
		return map[string]any{"type": "array"}
	case "google.protobuf.Any":
		return map[string]any{"type": "object", "description": "the message it holds, without a type name"}
	case "google.protobuf.StringValue", "google.protobuf.BytesValue", "google.protobuf.FieldMask":
		return map[string]any{"type": "string"}
	case "google.protobuf.BoolValue":
		return map[string]any{"type": "boolean"}
	case "google.protobuf.Int32Value", "google.protobuf.UInt32Value", "google.protobuf.Int64Value", "google.protobuf.UInt64Value":
		return map[string]any{"type": "integer"}
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue":
		return map[string]any{"type": "number"}
	}
	return nil
}
