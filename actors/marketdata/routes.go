package marketdata

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// importTimeout bounds data.import: years of 1m CSVs take a while.
const importTimeout = 10 * time.Minute

// Routes returns the actor's JSON-RPC methods, answered by pid:
// data.download [symbols, interval, from_ms, to_ms], data.status [job],
// data.cancel [job], data.list and data.import [path].
func Routes(pid *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "data.download", Doc: "download klines through the connector into the local store: symbols, interval, from_ms, to_ms (0: to now); answers a job id, progress on data.JOB.progress", Target: pid,
			New: func() proto.Message { return &messages.DataDownloadRequest{} }},
		{Method: "data.status", Doc: "download jobs, newest first, or one: job", Target: pid,
			New: func() proto.Message { return &messages.DataStatusRequest{} }},
		{Method: "data.cancel", Doc: "stop a download job (what it stored stays; the same download again resumes): job", Target: pid,
			New: func() proto.Message { return &messages.DataCancelRequest{} }},
		{Method: "data.list", Doc: "the stored series: symbol, interval, range, gaps, size on disk", Target: pid,
			New: func() proto.Message { return &messages.DataListRequest{} }},
		{Method: "data.import", Doc: "import Binance public-data kline CSVs (a .csv, a .zip or a directory, read by the daemon): path", Target: pid,
			New: func() proto.Message { return &messages.DataImportRequest{} }, Timeout: importTimeout},
	}
}
