package marketdata

import (
	"sync"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Store is what the actor needs of the candle store (actors/marketdata/store);
// OpenStore gives the one on disk. It is called only off the actor's
// goroutine and must be safe for concurrent use.
type Store interface {
	// Write merges bars into the series and returns how many were new.
	Write(symbol, interval string, bars []strategy.Bar) (added int, err error)
	// Load returns the bars whose open time is in [fromMs, toMs).
	Load(symbol, interval string, fromMs, toMs int64) ([]strategy.Bar, error)
	// Last returns the open time of the last stored bar (ok false: none).
	Last(symbol, interval string) (openMs int64, ok bool, err error)
	// List describes every stored series.
	List() ([]store.Series, error)
	// Import reads Binance public-data kline files (see store.Import).
	Import(path string) ([]store.Imported, error)
}

// OpenStore returns the store in dir, opened (and created 0700) on first
// use, so that a data directory nobody uses is never created.
func OpenStore(dir string) Store { return &diskStore{dir: dir} }

// diskStore is the store on disk behind the Store interface.
type diskStore struct {
	dir string
	mu  sync.Mutex
	s   *store.Store
}

// open opens the store once; a failure is retried at the next call.
func (d *diskStore) open() (*store.Store, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.s != nil {
		return d.s, nil
	}
	s, err := store.Open(d.dir)
	if err != nil {
		return nil, err
	}
	d.s = s
	return s, nil
}

func (d *diskStore) Write(symbol, interval string, bars []strategy.Bar) (int, error) {
	s, err := d.open()
	if err != nil {
		return 0, err
	}
	return s.Write(symbol, interval, bars)
}

func (d *diskStore) Load(symbol, interval string, fromMs, toMs int64) ([]strategy.Bar, error) {
	s, err := d.open()
	if err != nil {
		return nil, err
	}
	return s.Load(symbol, interval, fromMs, toMs)
}

func (d *diskStore) Last(symbol, interval string) (int64, bool, error) {
	s, err := d.open()
	if err != nil {
		return 0, false, err
	}
	return s.Last(symbol, interval)
}

func (d *diskStore) List() ([]store.Series, error) {
	s, err := d.open()
	if err != nil {
		return nil, err
	}
	return s.List()
}

func (d *diskStore) Import(path string) ([]store.Imported, error) {
	s, err := d.open()
	if err != nil {
		return nil, err
	}
	return store.Import(s, path)
}
