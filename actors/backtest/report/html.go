package report

import (
	"io"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// WriteHTML writes the self-contained HTML report.
func WriteHTML(w io.Writer, r *engine.Result, m Metrics, title string) error {
	return ErrNotImplemented
}

// WritePNG writes the equity curve as a PNG.
func WritePNG(w io.Writer, r *engine.Result) error { return ErrNotImplemented }
