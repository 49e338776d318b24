package backtest

import (
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/superbot/superbot/messages"
)

// maxResultFile bounds a result.json read back (a sweep's result holds at
// most maxResultPoints points: far less).
const maxResultFile = 16 << 20

// historyLoaded carries the results a previous run of the daemon left in
// Config.ResultsDir, oldest first.
type historyLoaded struct {
	results []*messages.BacktestResultResponse
}

// loadHistory reads the results directory on a goroutine and sends what it
// found back; unreadable entries are skipped.
func (a *backtestActor) loadHistory() {
	root, self, dir, log := a.root, a.self, a.cfg.ResultsDir, a.log
	a.goIO(func() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !os.IsNotExist(err) {
				log.Warn("backtest results not read", "dir", dir, "error", err)
			}
			return
		}
		var out []*messages.BacktestResultResponse
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "bt") {
				continue
			}
			path := filepath.Join(dir, e.Name(), fileResult)
			if fi, err := os.Stat(path); err != nil || fi.Size() > maxResultFile {
				continue
			}
			b, err := os.ReadFile(path)
			res := &messages.BacktestResultResponse{}
			if err != nil || protojson.Unmarshal(b, res) != nil || res.GetJob().GetId() != e.Name() {
				log.Warn("backtest result not read", "path", path)
				continue
			}
			out = append(out, res)
		}
		slices.SortFunc(out, func(x, y *messages.BacktestResultResponse) int {
			return cmp.Compare(x.GetJob().GetFinishedMs(), y.GetJob().GetFinishedMs())
		})
		root.Send(self, &historyLoaded{results: out})
	})
}

// onHistory keeps the jobs read back as finished ones (older than any of
// this run), within Config.History.
func (a *backtestActor) onHistory(msg *historyLoaded) {
	var old []*job
	for _, res := range msg.results {
		v := res.GetJob()
		if a.jobs[v.GetId()] != nil {
			continue
		}
		j := &job{id: v.GetId(), state: messages.JobDone, done: v.GetDone(), total: v.GetTotal(), result: res,
			created: msTime(v.GetCreatedMs()), started: msTime(v.GetStartedMs()), finished: msTime(v.GetFinishedMs()),
			spec: Spec{Kind: v.GetStrategy(), Symbols: v.GetSymbols(), Interval: v.GetInterval(), FromMs: v.GetFromMs(), ToMs: v.GetToMs()}}
		if v.GetSweep() {
			j.spec.Sweep = &SweepSpec{Metric: res.GetMetric()}
		}
		a.jobs[j.id] = j
		old = append(old, j)
	}
	a.finished = append(old, a.finished...)
	a.prune()
	a.log.Info("backtest history read", "jobs", len(old))
}

// prune forgets the oldest finished jobs beyond Config.History and deletes
// their results directories (on a goroutine).
func (a *backtestActor) prune() {
	n := len(a.finished) - a.cfg.History
	if n <= 0 {
		return
	}
	var dirs []string
	for _, j := range a.finished[:n] {
		delete(a.jobs, j.id)
		dirs = append(dirs, filepath.Join(a.cfg.ResultsDir, j.id))
	}
	a.finished = slices.Delete(a.finished, 0, n)
	a.goIO(func() {
		for _, d := range dirs {
			_ = os.RemoveAll(d)
		}
	})
}

// goIO runs blocking file work off the actor's goroutine.
func (a *backtestActor) goIO(f func()) {
	go f()
}

func msTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
