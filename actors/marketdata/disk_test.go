package marketdata

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestDownloadIntoDiskStore: a download from the real simulator through
// the real connector into the real store on disk, canceled midway and run
// again: data.list shows one series without gaps, every bar once.
func TestDownloadIntoDiskStore(t *testing.T) {
	ex := startSim(t, simConfig())
	dir := filepath.Join(t.TempDir(), "data")
	st := OpenStore(dir)
	cfg := DefaultConfig()
	cfg.PagesInFlight = 1
	f := startReal(t, ex, cfg, st)
	from, to := day(t, "2024-05-01"), day(t, "2024-05-08") // 11 pages
	req := &messages.DataDownloadRequest{Symbols: []string{"ETHUSDT"}, Interval: "1m", FromMs: from, ToMs: to}
	id := f.download(t, req)
	actortest.Eventually(t, 30*time.Second, func() bool { return f.job(t, id).GetSymbols()[0].GetPages() >= 2 }, "two pages written")
	c := actortest.Request[*messages.DataCancelResponse](t, f.sys, f.pid, &messages.DataCancelRequest{Job: id})
	if c.GetError() != nil {
		t.Fatal(c.GetError())
	}
	if j := f.wait(t, id, 30*time.Second); j.GetState() != messages.JobCanceled && j.GetState() != messages.JobDone {
		t.Fatalf("canceled job = %v", j)
	}
	j := f.wait(t, f.download(t, req), 60*time.Second)
	if j.GetState() != messages.JobDone {
		t.Fatalf("job = %v", j)
	}
	contiguous(t, st, "ETHUSDT", "1m", from, to, 60_000)

	list := actortest.Request[*messages.DataListResponse](t, f.sys, f.pid, &messages.DataListRequest{})
	if list.GetError() != nil || len(list.GetSeries()) != 1 {
		t.Fatalf("data.list = %v", list)
	}
	s := list.GetSeries()[0]
	if s.GetSymbol() != "ETHUSDT" || s.GetInterval() != "1m" || s.GetFromMs() != from || s.GetToMs() != to-1 ||
		s.GetBars() != 7*1440 || len(s.GetGaps()) != 0 || s.GetBytes() <= 0 {
		t.Fatalf("series = %v", s)
	}
}

// TestImportThroughActor: data.import reads Binance CSVs into the store and
// a bad path is a clear error.
func TestImportThroughActor(t *testing.T) {
	sys := actortest.NewSystem(t)
	f := startWith(t, sys, nil, DefaultConfig(), OpenStore(t.TempDir()))
	r := actortest.Request[*messages.DataImportResponse](t, f.sys, f.pid, &messages.DataImportRequest{Path: filepath.Join("store", "testdata", "BTCUSDT-1m-2024-01-15.csv")})
	if r.GetError() != nil || len(r.GetImported()) != 1 || r.GetImported()[0].GetAdded() == 0 || r.GetImported()[0].GetSymbol() != "BTCUSDT" {
		t.Fatalf("data.import = %v", r)
	}
	again := actortest.Request[*messages.DataImportResponse](t, f.sys, f.pid, &messages.DataImportRequest{Path: filepath.Join("store", "testdata", "BTCUSDT-1m-2024-01-15.csv")})
	if g := again.GetImported(); again.GetError() != nil || len(g) != 1 || g[0].GetAdded() != 0 || g[0].GetDuplicates() != r.GetImported()[0].GetAdded() {
		t.Fatalf("second data.import = %v", again)
	}
	bad := actortest.Request[*messages.DataImportResponse](t, f.sys, f.pid, &messages.DataImportRequest{Path: "/nonexistent/x.csv"})
	if bad.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || !strings.Contains(bad.GetError().GetMessage(), "x.csv") {
		t.Fatalf("bad path = %v", bad)
	}
	if empty := actortest.Request[*messages.DataImportResponse](t, f.sys, f.pid, &messages.DataImportRequest{}); empty.GetError() == nil {
		t.Fatal("an empty path was accepted")
	}
}
