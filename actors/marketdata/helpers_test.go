package marketdata

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStore is an in-memory Store that counts what it is asked to write.
// hook, when set, runs at the start of every Write (off the actor).
type memStore struct {
	mu     sync.Mutex
	series map[string]map[int64]strategy.Bar
	writes int
	dups   int
	hook   func(n int)
}

func newMemStore() *memStore { return &memStore{series: map[string]map[int64]strategy.Bar{}} }

func (m *memStore) Write(symbol, interval string, bars []strategy.Bar) (int, error) {
	m.mu.Lock()
	m.writes++
	n, hook := m.writes, m.hook
	m.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.series[symbol+"/"+interval]
	if s == nil {
		s = map[int64]strategy.Bar{}
		m.series[symbol+"/"+interval] = s
	}
	added := 0
	for _, b := range bars {
		if _, ok := s[b.OpenTimeMs]; ok {
			m.dups++
		} else {
			added++
		}
		s[b.OpenTimeMs] = b
	}
	return added, nil
}

// counts returns how many writes were asked for and how many bars were
// written twice.
func (m *memStore) counts() (writes, dups int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes, m.dups
}

func (m *memStore) Load(symbol, interval string, fromMs, toMs int64) ([]strategy.Bar, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []strategy.Bar
	for t, b := range m.series[symbol+"/"+interval] {
		if t >= fromMs && (toMs == 0 || t < toMs) {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OpenTimeMs < out[j].OpenTimeMs })
	return out, nil
}

func (m *memStore) Last(symbol, interval string) (int64, bool, error) {
	bars, _ := m.Load(symbol, interval, 0, 0)
	if len(bars) == 0 {
		return 0, false, nil
	}
	return bars[len(bars)-1].OpenTimeMs, true, nil
}

func (m *memStore) List() ([]store.Series, error) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	slices.Sort(keys)
	var out []store.Series
	for _, k := range keys {
		var sym, iv string
		for i := range k {
			if k[i] == '/' {
				sym, iv = k[:i], k[i+1:]
			}
		}
		bars, _ := m.Load(sym, iv, 0, 0)
		out = append(out, store.Series{Symbol: sym, Interval: iv, FromMs: bars[0].OpenTimeMs, ToMs: bars[len(bars)-1].CloseTimeMs, Bars: len(bars)})
	}
	return out, nil
}

func (m *memStore) Import(string) ([]store.Imported, error) {
	return nil, errors.New("memStore: no import")
}

// simConfig is the simulator's default on an ephemeral port, with no
// automatic ticks.
func simConfig() exchangesim.Config {
	cfg := exchangesim.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = 0
	cfg.Backfill = 10 * time.Minute
	return cfg
}

func startSim(t testing.TB, cfg exchangesim.Config) *exchangesim.Exchange {
	t.Helper()
	ex, err := exchangesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// fixture is a marketdata actor with its connector (real or fake), a
// probe on the bus and a store.
type fixture struct {
	sys   *actor.ActorSystem
	pid   *actor.PID
	conn  *actor.PID
	bus   *actortest.Probe
	store Store
}

// startReal wires the actor to a real connector talking to ex.
func startReal(t testing.TB, ex *exchangesim.Exchange, cfg Config, st Store) *fixture {
	t.Helper()
	sys := actortest.NewSystem(t)
	cc := connector.DefaultConfig()
	cc.BaseURL, cc.WSBaseURL = ex.BaseURL(), ex.WSBaseURL()
	cc.RequestTimeout = 5 * time.Second
	conn := actortest.Spawn(t, sys, connector.Props(cc, connector.Deps{Logger: actortest.Logger(t)}))
	actortest.Eventually(t, 10*time.Second, func() bool {
		return actortest.Request[*messages.ConnectorStatusResponse](t, sys, conn, &messages.ConnectorStatusRequest{}).GetHealth() == "up"
	}, "connector up")
	return startWith(t, sys, conn, cfg, st)
}

func startWith(t testing.TB, sys *actor.ActorSystem, conn *actor.PID, cfg Config, st Store) *fixture {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{sys: sys, conn: conn, bus: actortest.NewProbe(t, sys), store: st}
	f.pid = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: f.bus.PID, Connector: conn, Store: st, Dir: "mem", Logger: actortest.Logger(t)}))
	return f
}

// download starts a download and fails the test on an error answer.
func (f *fixture) download(t testing.TB, req *messages.DataDownloadRequest) string {
	t.Helper()
	r := actortest.Request[*messages.DataDownloadResponse](t, f.sys, f.pid, req)
	if r.GetError() != nil {
		t.Fatalf("data.download: %v", r.GetError())
	}
	return r.GetJob()
}

func (f *fixture) job(t testing.TB, id string) *messages.DataJob {
	t.Helper()
	r := actortest.Request[*messages.DataStatusResponse](t, f.sys, f.pid, &messages.DataStatusRequest{Job: id})
	if r.GetError() != nil || len(r.GetJobs()) != 1 {
		t.Fatalf("data.status %s: %v", id, r.GetError())
	}
	return r.GetJobs()[0]
}

// wait polls job id until it is in a final state and returns it.
func (f *fixture) wait(t testing.TB, id string, timeout time.Duration) *messages.DataJob {
	t.Helper()
	var j *messages.DataJob
	actortest.Eventually(t, timeout, func() bool {
		j = f.job(t, id)
		return j.GetState() == messages.JobDone || j.GetState() == messages.JobFailed || j.GetState() == messages.JobCanceled
	}, "job %s ends", id)
	return j
}

// contiguous checks that st holds exactly the bars of [from, to) at ivMs.
func contiguous(t testing.TB, st Store, symbol, interval string, from, to, ivMs int64) {
	t.Helper()
	bars, err := st.Load(symbol, interval, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := int((to - from) / ivMs); len(bars) != want {
		t.Fatalf("%s: %d bars stored, want %d", symbol, len(bars), want)
	}
	for i, b := range bars {
		if b.OpenTimeMs != from+int64(i)*ivMs {
			t.Fatalf("%s: bar %d opens at %d, want %d", symbol, i, b.OpenTimeMs, from+int64(i)*ivMs)
		}
		if b.CloseTimeMs != b.OpenTimeMs+ivMs-1 || b.Low > b.High || b.Open <= 0 {
			t.Fatalf("%s: bad bar %+v", symbol, b)
		}
	}
}

// day is a day in the simulator's synthetic past.
func day(t testing.TB, s string) int64 {
	t.Helper()
	tm, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}
