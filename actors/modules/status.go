package modules

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
)

// OverridableParams are the module.start params keys that may override the
// module's config for a run.
var OverridableParams = []string{"args", "debug", "env", "host", "port", "workers"}

func (s *supervisor) status(req *messages.ModuleStatusRequest) *messages.ModuleStatusResponse {
	rec, e := s.lookup(req.Module)
	if e != nil {
		return &messages.ModuleStatusResponse{Error: e}
	}
	return &messages.ModuleStatusResponse{Status: s.moduleStatus(rec)}
}

func (s *supervisor) list() *messages.ModuleListResponse {
	res := &messages.ModuleListResponse{}
	for _, n := range s.names() {
		res.Modules = append(res.Modules, s.moduleStatus(s.recs[n]))
	}
	return res
}

func (s *supervisor) tail(req *messages.LogsTailRequest) *messages.LogsTailResponse {
	rec, e := s.lookup(req.Module)
	if e != nil {
		return &messages.LogsTailResponse{Module: req.Module, Error: e}
	}
	return &messages.LogsTailResponse{Module: rec.name, Lines: rec.sink.tail(int(req.Lines))}
}

func (s *supervisor) tree() *messages.TreeResponse {
	res := &messages.TreeResponse{}
	for _, n := range s.order {
		res.Children = append(res.Children, s.snapshot(s.recs[n]).status(n))
	}
	return res
}

// moduleStatus is the RPC view of a record.
func (s *supervisor) moduleStatus(rec *record) *messages.ModuleStatus {
	st := &messages.ModuleStatus{
		Name:           rec.name,
		Type:           rec.eff.Type,
		State:          rec.state,
		Pid:            int32(rec.pid),
		Restarts:       rec.restarts,
		RecentFailures: s.recentFailures(rec),
		LastExit:       rec.lastExit,
		Health:         rec.health,
		Resources:      rec.res,
		Since:          timestamppb.New(rec.since),
		DependsOn:      rec.cfg.DependsOn,
		Enabled:        rec.cfg.Enabled,
		LastError:      rec.lastErr,
		Node:           s.deps.Node,
	}
	if rec.state == StateRunning {
		st.UptimeSeconds = time.Since(rec.upSince).Seconds()
	}
	if rec.pid != 0 {
		u := usage.usageOf(rec.pid)
		st.CpuPercent, st.RssBytes = u.cpuPercent, u.rssBytes
	}
	return st
}

func (s *supervisor) watchTargets() *WatchTargetsResponse {
	res := &WatchTargetsResponse{}
	for _, n := range s.order {
		rec := s.recs[n]
		if rec.state != StateRunning || rec.pid == 0 {
			continue
		}
		limit, _ := ParseBytes(rec.eff.MaxMemory)
		res.Targets = append(res.Targets, WatchTarget{
			Name: n, PID: rec.pid, Since: rec.upSince, HealthURL: healthURL(rec.eff), MaxMemory: limit,
		})
	}
	return res
}

func (s *supervisor) onRestartModule(msg *RestartModule) {
	rec := s.recs[msg.Name]
	if rec == nil || rec.state != StateRunning || (msg.PID != 0 && rec.pid != msg.PID) {
		return
	}
	s.log.Warn("module restart asked", "module", rec.name, "reason", msg.Reason)
	s.root.Send(rec.child, crashModule{pid: msg.PID, reason: msg.Reason})
}

func (s *supervisor) onResources(msg *ResourcesReport) {
	rec := s.recs[msg.Name]
	if rec == nil || rec.state != StateRunning || msg.Resources == nil || int(msg.Resources.Pid) != rec.pid {
		return
	}
	rec.res = msg.Resources
	if msg.Health != "" {
		rec.health = msg.Health
	}
}

// applyParams merges module.start params over cfg; only OverridableParams
// may be given, but a thread module also takes any other key with a
// string, number or boolean value as a "key=value" arg: its own param
// (the seed's `module.start trading {"mode": "paper"}`).
func applyParams(cfg ModuleConfig, params *structpb.Struct) (ModuleConfig, error) {
	out := cfg
	out.Args = append([]string(nil), cfg.Args...)
	out.Env = maps.Clone(cfg.Env)
	var errs []error
	keys := make([]string, 0, len(params.GetFields()))
	for k := range params.GetFields() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var extra []string // a thread module's own params, after any "args"
	for _, k := range keys {
		v := params.GetFields()[k]
		if out.Type == TypeThread && !slices.Contains(OverridableParams, k) {
			a, err := threadParam(k, v)
			if err != nil {
				errs = append(errs, fmt.Errorf("params.%s: %w", k, err))
			}
			extra = append(extra, a)
			continue
		}
		if err := applyParam(&out, k, v); err != nil {
			errs = append(errs, fmt.Errorf("params.%s: %w", k, err))
		}
	}
	out.Args = append(out.Args, extra...)
	if out.Type == TypeUvicorn || out.Type == TypeFlask {
		if out.Port < 1 || out.Port > 65535 {
			errs = append(errs, fmt.Errorf("params.port: must be 1-65535, got %d", out.Port))
		}
	}
	if out.Workers < 1 {
		errs = append(errs, fmt.Errorf("params.workers: must be >= 1, got %d", out.Workers))
	}
	return out, errors.Join(errs...)
}

// threadParamKey is what a thread module's own param may be called.
var threadParamKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// threadParam turns a thread module's own module.start param into the
// "key=value" arg its ThreadEnv.Params reads.
func threadParam(key string, v *structpb.Value) (string, error) {
	if !threadParamKey.MatchString(key) {
		return "", fmt.Errorf("a thread module's param must be named %s", threadParamKey)
	}
	switch x := v.Kind.(type) {
	case *structpb.Value_StringValue:
		if strings.ContainsRune(x.StringValue, 0) || len(x.StringValue) > 4096 {
			return "", errors.New("must be a string without NUL, at most 4096 bytes")
		}
		return key + "=" + x.StringValue, nil
	case *structpb.Value_NumberValue:
		return key + "=" + strconv.FormatFloat(x.NumberValue, 'f', -1, 64), nil
	case *structpb.Value_BoolValue:
		return key + "=" + strconv.FormatBool(x.BoolValue), nil
	}
	return "", errors.New("must be a string, a number or a boolean")
}

func applyParam(m *ModuleConfig, key string, v *structpb.Value) error {
	switch key {
	case "args":
		l := v.GetListValue()
		if l == nil {
			return errors.New("must be a list of strings")
		}
		m.Args = m.Args[:0]
		for _, it := range l.Values {
			s, ok := it.Kind.(*structpb.Value_StringValue)
			if !ok {
				return errors.New("must be a list of strings")
			}
			m.Args = append(m.Args, s.StringValue)
		}
	case "env":
		obj := v.GetStructValue()
		if obj == nil {
			return errors.New("must be an object of strings")
		}
		if m.Env == nil {
			m.Env = map[string]string{}
		}
		for k, it := range obj.Fields {
			s, ok := it.Kind.(*structpb.Value_StringValue)
			if !ok || k == "" || strings.ContainsAny(k, "=\x00") {
				return fmt.Errorf("%q must be a string variable", k)
			}
			m.Env[k] = s.StringValue
		}
	case "host":
		s, ok := v.Kind.(*structpb.Value_StringValue)
		if !ok || s.StringValue == "" {
			return errors.New("must be a non-empty string")
		}
		m.Host = s.StringValue
	case "port", "workers":
		n, ok := v.Kind.(*structpb.Value_NumberValue)
		if !ok || n.NumberValue != math.Trunc(n.NumberValue) || n.NumberValue < 0 || n.NumberValue > 65535 {
			return errors.New("must be a whole number")
		}
		if key == "port" {
			m.Port = int(n.NumberValue)
		} else {
			m.Workers = int(n.NumberValue)
		}
	case "debug":
		b, ok := v.Kind.(*structpb.Value_BoolValue)
		if !ok {
			return errors.New("must be true or false")
		}
		m.Debug = b.BoolValue
	default:
		return fmt.Errorf("cannot be overridden (allowed: %s)", strings.Join(OverridableParams, ", "))
	}
	return nil
}
