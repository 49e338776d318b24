package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCrossSectionProblems(t *testing.T) {
	cases := []struct {
		name, toml string
		want       []string
	}{
		{"unknown job action", "[daemon.schedule.jobs.nightly]\ncron = \"0 2 * * *\"\naction = \"modul.restart\"\n",
			[]string{`daemon.schedule.jobs.nightly.action: unknown method "modul.restart"`}},
		{"window module not configured", "[daemon.schedule]\ntrading_start = \"09:00\"\ntrading_stop = \"18:00\"\n",
			[]string{`daemon.schedule.trading_module: the trading window starts "trading"`}},
		{"sim on a fixed port", "[exchange_sim]\nlisten = \"127.0.0.1:18080\"\n", nil},
		{"sim module disabled and a random port", "[daemon]\nautostart = [\"heartbeat\"]\n[daemon.modules.exchange-sim]\nenabled = false\n",
			[]string{"exchange_sim.listen: no module runs the simulator"}},
		{"no sim module and a random port", "[daemon]\nautostart = [\"heartbeat\"]\n[daemon.modules.exchange-sim]\ntype = \"exec\"\ncommand = [\"true\"]\n",
			[]string{"exchange_sim.listen: no module runs the simulator"}},
		{"unregistered thread module", "[daemon.modules.sim2]\ntype = \"thread\"\n[daemon.modules.beat]\ntype = \"thread\"\nmodule = \"heartbeet\"\n[daemon.modules.beat2]\ntype = \"thread\"\nmodule = \"heartbeat\"\n",
			[]string{`daemon.modules.sim2: no thread module is registered as "sim2": set module to one of exchange-sim, heartbeat, trading`,
				`daemon.modules.beat.module: no thread module is registered as "heartbeet" (registered: exchange-sim, heartbeat, trading, webui)`}},
		{"every dependency cycle", "[daemon.modules.a]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"b\", \"c\"]\n" +
			"[daemon.modules.b]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"a\"]\n" +
			"[daemon.modules.c]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"a\"]\n",
			[]string{"daemon.modules.a.depends_on: dependency cycle: a -> b -> a", "daemon.modules.a.depends_on: dependency cycle: a -> c -> a"}},
		{"daily backtest of an unknown strategy", "[daemon.schedule.daily_backtest]\nenabled = true\nstrategy = \"trend\"\n",
			[]string{`daemon.schedule.daily_backtest.strategy: unknown strategy "trend": [trading.strategies] configures none`}},
		{"daily backtest with a bad cron", "[daemon.schedule.daily_backtest]\nenabled = true\ncron = \"0 2 * *\"\n",
			[]string{"daemon.schedule.daily_backtest.cron: expected exactly 5 fields"}},
		{"weekly report enabled", "[daemon.schedule.weekly_report]\nenabled = true\n", nil},
		{"job calling a report method is fine", "[daemon.schedule.jobs.drift]\nat = \"03:00\"\naction = \"report.drift\"\nparams = { strategy = \"x\" }\n", nil},
		{"job calling a scheduler method is fine", "[daemon.schedule.jobs.pause]\nat = \"02:00\"\naction = \"scheduler.pause\"\nparams = { name = \"pause\" }\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(path, []byte(c.toml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected problems: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no problem reported")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("want %q in:\n%v", w, err)
				}
			}
		})
	}
}
