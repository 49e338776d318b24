package daemon

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/webui"
	"github.com/superbot/superbot/actors/webui/ui"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// webUIFactory starts the web UI with the daemon's router, bus, token
// (read when the module starts: the edge has loaded it by then), metrics
// and the edge's limits, and the [webui] config in effect.
func (d *Daemon) webUIFactory() modules.ThreadFactory {
	return func(env modules.ThreadEnv) *actor.Props {
		return webui.ModuleProps(d.webUIConfig(), webui.Deps{
			Router: d.router, Bus: d.busPID(), Token: d.token, IPC: d.cfg.Daemon.IPC, Metrics: d.metrics.Handler(),
			Files: ui.FS(), StateDir: d.cfg.Daemon.StateDir, Node: d.node(), Version: Version, Logger: env.Logger,
		})
	}
}

// webUIConfig is [webui] as last reloaded, else as started.
func (d *Daemon) webUIConfig() webui.Config {
	if c := d.webCfg.Load(); c != nil {
		return *c
	}
	return d.cfg.WebUI
}

// reloadWebUI applies a reloaded [webui]: the modules running the web UI
// restart with it (their connections and sessions end); one that is not
// running gets it when it starts.
func reloadWebUI(d *Daemon, next *config.Config) string {
	cfg := next.WebUI
	d.webCfg.Store(&cfg)
	pid := d.pids[modules.Kind]
	if pid == nil {
		return ""
	}
	for _, name := range webUIModules(next) {
		res, err := d.sys.Root.RequestFuture(pid, &messages.ModuleStatusRequest{Module: name}, 5*time.Second).Result()
		if err != nil {
			return fmt.Sprintf("module %s did not answer: %v", name, err)
		}
		if st, ok := res.(*messages.ModuleStatusResponse); !ok || st.Error != nil || st.Status.GetState() != "running" {
			continue
		}
		res, err = d.sys.Root.RequestFuture(pid, &messages.ModuleRestartRequest{Module: name}, 30*time.Second).Result()
		if err != nil {
			return fmt.Sprintf("module %s not restarted: %v", name, err)
		}
		if r, ok := res.(*messages.ModuleRestartResponse); ok && r.Error != nil {
			return fmt.Sprintf("module %s not restarted: %s", name, r.Error.Message)
		}
	}
	return ""
}

// webUIModules lists the enabled modules that run the web UI's thread
// module.
func webUIModules(cfg *config.Config) []string {
	var out []string
	for name, m := range cfg.Daemon.Modules {
		if m.Enabled && m.Type == modules.TypeThread && (m.Module == webui.Name || (m.Module == "" && name == webui.Name)) {
			out = append(out, name)
		}
	}
	return out
}
