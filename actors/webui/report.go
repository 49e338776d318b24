package webui

import (
	"errors"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/superbot/superbot/messages"
)

// reportTypes are the report files GET /backtests/{id}/{kind} serves, by
// kind (backtest.result's files), with their content types.
var reportTypes = map[string]string{
	"html": "text/html; charset=utf-8",
	"json": "application/json",
	"csv":  "text/csv; charset=utf-8",
	"png":  "image/png",
}

// reportCSP confines a served report: the HTML report carries its own
// styles and its chart as a data: image, and runs no script (sandbox).
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

// report serves a backtest's report file to a session: the path comes from
// backtest.result (asked through the router, as over /rpc), never from the
// request, so only files a job wrote can be read.
func (w *web) report(rw http.ResponseWriter, r *http.Request) {
	if !w.hasSession(r) {
		http.Error(rw, "unauthorized: log in first", http.StatusUnauthorized)
		return
	}
	id, kind := r.PathValue("id"), r.PathValue("kind")
	ctype, ok := reportTypes[kind]
	if !ok {
		http.Error(rw, "unknown report kind "+strconv.Quote(kind)+": html, json, csv or png", http.StatusNotFound)
		return
	}
	if w.sys == nil {
		http.Error(rw, "backtests unavailable", http.StatusServiceUnavailable)
		return
	}
	p, err := w.deps.Router.Call(w.sys.Root, "backtest.result", []byte(`{"id":`+strconv.Quote(id)+`}`))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusServiceUnavailable)
		return
	}
	res, err := p.Result()
	var merr *messages.Error
	switch {
	case errors.As(err, &merr) && merr.GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND:
		http.Error(rw, "no backtest "+strconv.Quote(id), http.StatusNotFound)
		return
	case err != nil:
		http.Error(rw, err.Error(), http.StatusServiceUnavailable)
		return
	}
	out, _ := res.(*messages.BacktestResultResponse)
	for _, f := range out.GetFiles() {
		if f.GetKind() == kind {
			h := rw.Header()
			h.Set("Content-Type", ctype)
			h.Set("Content-Security-Policy", reportCSP)
			h.Set("Cache-Control", "no-store")
			if kind != "html" && kind != "png" {
				h.Set("Content-Disposition", "attachment; filename="+strconv.Quote(filepath.Base(f.GetPath())))
			}
			http.ServeFile(rw, r, f.GetPath())
			return
		}
	}
	http.Error(rw, "backtest "+strconv.Quote(id)+" wrote no "+kind+" report", http.StatusNotFound)
}
