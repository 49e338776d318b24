package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// openRPC is the part of an OpenRPC document (rpc.discover) the CLI shows.
type openRPC struct {
	OpenRPC    string      `json:"openrpc"`
	Methods    []rpcMethod `json:"methods"`
	Components struct {
		Errors map[string]rpcError `json:"errors"`
	} `json:"components"`
}

// rpcError is an error object, given inline or as a "$ref" into
// components.errors (the daemon refers to its one error table).
type rpcError struct {
	Ref     string `json:"$ref"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// resolve returns e, or the components.errors entry its "$ref" names.
func (d *openRPC) resolve(e rpcError) rpcError {
	if e.Ref == "" {
		return e
	}
	return d.Components.Errors[e.Ref[strings.LastIndex(e.Ref, "/")+1:]]
}

type rpcMethod struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
	Params  []struct {
		Name     string          `json:"name"`
		Required bool            `json:"required"`
		Schema   json.RawMessage `json:"schema"`
	} `json:"params"`
	Result *struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
	} `json:"result"`
	Errors []rpcError `json:"errors"`
}

// renderDiscover prints one line per method with its params ("name type",
// optional ones with "?"), or with method set that method's params, result
// and errors.
func renderDiscover(w io.Writer, res json.RawMessage, method string) error {
	var doc openRPC
	if err := json.Unmarshal(res, &doc); err != nil || len(doc.Methods) == 0 {
		return renderGeneric(w, res)
	}
	if method == "" {
		tw := newTable(w)
		fprintln(tw, "METHOD\tPARAMS\tRESULT")
		for _, m := range doc.Methods {
			result := "-"
			if m.Result != nil {
				result = schemaType(m.Result.Schema)
			}
			fprintf(tw, "%s\t%s\t%s\n", m.Name, orDash(paramList(m)), result)
		}
		return tw.Flush()
	}
	for _, m := range doc.Methods {
		if m.Name != method {
			continue
		}
		tw := newTable(w)
		fprintf(tw, "method:\t%s\n", m.Name)
		if m.Summary != "" {
			fprintf(tw, "summary:\t%s\n", oneLine(m.Summary))
		}
		fprintf(tw, "params:\t%s\n", orDash(paramList(m)))
		if m.Result != nil {
			fprintf(tw, "result:\t%s\n", schemaType(m.Result.Schema))
		}
		for _, e := range m.Errors {
			e = doc.resolve(e)
			fprintf(tw, "error:\t%d %s\n", e.Code, oneLine(e.Message))
		}
		return tw.Flush()
	}
	return usagef("superbot discover: the daemon serves no method %q; run 'superbot methods'", method)
}

func paramList(m rpcMethod) string {
	parts := make([]string, len(m.Params))
	for i, p := range m.Params {
		opt := ""
		if !p.Required {
			opt = "?"
		}
		parts[i] = fmt.Sprintf("%s%s %s", p.Name, opt, schemaType(p.Schema))
	}
	return strings.Join(parts, ", ")
}

// schemaType names a JSON Schema's type: "string", "integer|null", the
// last segment of a "$ref", a title, else "any".
func schemaType(raw json.RawMessage) string {
	var s struct {
		Type  json.RawMessage `json:"type"`
		Ref   string          `json:"$ref"`
		Title string          `json:"title"`
		Items json.RawMessage `json:"items"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return "any"
	}
	var one string
	var many []string
	switch {
	case json.Unmarshal(s.Type, &one) == nil && one == "array" && len(s.Items) > 0:
		return "[]" + schemaType(s.Items)
	case one != "":
		return one
	case json.Unmarshal(s.Type, &many) == nil && len(many) > 0:
		return strings.Join(many, "|")
	case s.Ref != "": // "#/components/schemas/superbot.v1.LogsTailResponse.result"
		name := strings.TrimSuffix(s.Ref[strings.LastIndex(s.Ref, "/")+1:], ".result")
		return name[strings.LastIndex(name, ".")+1:]
	case s.Title != "":
		return s.Title
	}
	return "any"
}
