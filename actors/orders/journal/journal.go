// Package journal is the trading journal: orders, their history, fills,
// strategy state and small metadata in one SQLite file (modernc.org/sqlite,
// pure Go), written by one goroutine with group commit and read through a
// separate read-only pool.
//
// The file is plain SQLite a user can open with sqlite3: readable column
// names, decimals as TEXT, times as INTEGER Unix milliseconds, statuses as
// their names ("NEW", "FILLED"). It runs in WAL mode with synchronous=FULL:
// a commit is fsynced before Write's done runs.
//
// Tables (schema version in PRAGMA user_version, see CurrentSchema):
//
//	orders          one row per client_order_id, its latest state
//	order_events    each order's history (status, time_ms, reason,
//	                executed_qty), appended by triggers on orders
//	fills           executions; unique per (symbol, trade_id) when
//	                trade_id > 0, numbered per order by seq
//	strategy_state  each strategy's saved state (BLOB) and saved_ms
//	meta            key/value pairs (id sequences, halt flag, ...)
//
// For example: sqlite3 -readonly .superbot/journal.db
// "SELECT client_order_id, status, executed_qty FROM orders".
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Errors the journal returns; match them with errors.Is.
var (
	// ErrClosed is returned (and given to done) after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrNewerSchema means the file was written by a newer SuperBot: the
	// journal refuses it and leaves the file untouched.
	ErrNewerSchema = errors.New("journal: schema is newer than this build")
	// ErrInvalid wraps every refused op or filter (a bad op fails its
	// Write's whole batch and changes nothing).
	ErrInvalid = errors.New("journal: invalid")
	// ErrBackupExists means Backup's destination already exists.
	ErrBackupExists = errors.New("journal: backup destination exists")
)

// DefaultMaxBatch is Options.MaxBatch's default.
const DefaultMaxBatch = 1024

// busyTimeoutMs bounds how long a connection waits for a lock.
const busyTimeoutMs = 10000

// readPoolSize is the read-only pool's connection count.
const readPoolSize = 4

// Options tune Open.
type Options struct {
	// Logger receives the journal's logs; nil discards them.
	Logger *slog.Logger
	// MaxBatch is the most ops one transaction takes (a single Write larger
	// than that still commits whole). 0 means DefaultMaxBatch.
	MaxBatch int
	// OnCommit, when set, gets every batch of ops after it is committed
	// (fsynced), in commit order, on the writer goroutine, before the
	// batch's Write dones run: the ops of the batch's requests that
	// committed, each request's ops in its order, never those of a request
	// or a transaction that failed. It must not block (it holds up every
	// later commit) and must not change the ops or their messages, which
	// are the journal's own copies. nil: nothing.
	OnCommit func(ops []Op)
}

// Stats counts the writer's work since Open.
type Stats struct {
	// Commits is the number of committed write transactions (each one
	// fsync of the WAL).
	Commits uint64
	// Writes is the number of Write calls committed; Ops their ops.
	Writes, Ops uint64
	// Failed is the number of Write calls whose done got an error.
	Failed uint64
}

// Journal is an open trading journal. Its methods are safe for concurrent
// use. Write never blocks; the reads, Checkpoint, Backup and Close do disk
// I/O on the caller's goroutine (reads never wait for the writer, thanks to
// WAL), so an actor calls the slow ones (Backup, Checkpoint, Close) off its
// mailbox.
type Journal struct {
	path     string
	log      *slog.Logger
	maxBatch int
	version  int
	onCommit func(ops []Op)

	wdb   *sql.DB // one connection, used by the writer goroutine (and Checkpoint)
	stmts statements
	rdb   *sql.DB // read-only pool

	mu      sync.Mutex
	queue   []request
	closed  bool
	wake    chan struct{}
	stopped chan struct{}

	closeOnce sync.Once
	closeErr  error

	commits, writes, ops, failed atomic.Uint64
}

// request is one Write call waiting for the writer.
type request struct {
	ops  []Op
	done func(error)
	// snap, when set, is a Snapshot's copy: the writer runs it alone,
	// between two commits (ops and done are then unused).
	snap func()
}

// Open opens (creating if needed) the journal at path: its directory is
// made 0700 and a new file 0600, the schema is migrated to CurrentSchema,
// and the writer goroutine starts. A file from a newer schema is refused
// with ErrNewerSchema and not modified.
func Open(path string, opts Options) (*Journal, error) {
	if opts.MaxBatch < 0 {
		return nil, fmt.Errorf("%w: max batch %d < 0", ErrInvalid, opts.MaxBatch)
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if path == "" {
		return nil, fmt.Errorf("%w: empty path", ErrInvalid)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	j := &Journal{
		path: path, log: opts.Logger, maxBatch: opts.MaxBatch, onCommit: opts.OnCommit,
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	if err := j.openWriter(); err != nil {
		return nil, err
	}
	rdb, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		_ = j.wdb.Close()
		return nil, fmt.Errorf("journal: open read pool: %w", err)
	}
	rdb.SetMaxOpenConns(readPoolSize)
	rdb.SetMaxIdleConns(readPoolSize)
	j.rdb = rdb
	go j.run()
	return j, nil
}

// createFile makes path 0600 when it does not exist (SQLite would use the
// umask); its -wal and -shm files inherit the mode.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return f.Close()
}

// dsn is the modernc.org/sqlite data source for path. Writer and readers
// both wait busyTimeoutMs for locks; the writer commits with fsync
// (synchronous=FULL) and begins transactions IMMEDIATE; readers cannot
// write (query_only); temporary data stays in memory. journal_mode=WAL
// is set once by openWriter, after the version check, so a refused file is
// not converted.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	q.Add("_pragma", "foreign_keys(1)")
	// Statement journals (every upsert has one) stay in memory instead of
	// a temporary file written with syscalls.
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "synchronous(FULL)")
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// dsnBackup is the data source of Backup's connection: it only reads the
// journal (and writes the copy).
func dsnBackup(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// openWriter opens the writer's connection, checks the version, switches
// to WAL and migrates.
func (j *Journal) openWriter() error {
	db, err := sql.Open("sqlite", dsn(j.path, false))
	if err != nil {
		return fmt.Errorf("journal: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	ctx := context.Background()
	fail := func(err error) error {
		_ = db.Close()
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	v, err := userVersion(ctx, db)
	if err != nil {
		return fail(err)
	}
	if v > CurrentSchema {
		return fail(fmt.Errorf("%w: file has v%d, this build knows v%d", ErrNewerSchema, v, CurrentSchema))
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode); err != nil {
		return fail(fmt.Errorf("set WAL: %w", err))
	}
	if mode != "wal" {
		return fail(fmt.Errorf("set WAL: journal_mode is %q", mode))
	}
	if err := migrate(ctx, db, v); err != nil {
		return fail(err)
	}
	if v < CurrentSchema {
		j.log.Info("journal migrated", "path", j.path, "from_version", v, "to_version", CurrentSchema)
	}
	if err := j.stmts.prepare(ctx, db); err != nil {
		return fail(err)
	}
	j.wdb, j.version = db, CurrentSchema
	return nil
}

// SchemaVersion is the file's schema version (CurrentSchema once open).
func (j *Journal) SchemaVersion() int { return j.version }

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Stats returns the writer's counters.
func (j *Journal) Stats() Stats {
	return Stats{Commits: j.commits.Load(), Writes: j.writes.Load(), Ops: j.ops.Load(), Failed: j.failed.Load()}
}

// Close commits every queued Write (their done run), stops the writer,
// checkpoints the WAL into the main file (TRUNCATE) and closes the file.
// Later Writes get ErrClosed. Close is idempotent.
func (j *Journal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closed = true
		j.mu.Unlock()
		j.signal()
		<-j.stopped
		errs := []error{j.rdb.Close()}
		errs = append(errs, j.checkpoint())
		j.stmts.close()
		errs = append(errs, j.wdb.Close())
		j.closeErr = errors.Join(errs...)
	})
	return j.closeErr
}

// Checkpoint copies the WAL into the main file and truncates it. It waits
// for the transaction in progress and for readers (up to the busy timeout,
// 10 s); when readers still hold old snapshots it fails (try again later).
func (j *Journal) Checkpoint() error {
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return j.checkpoint()
}

func (j *Journal) checkpoint() error {
	var busy, logFrames, done int
	row := j.wdb.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`)
	if err := row.Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("journal: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("journal: checkpoint: readers busy (%d of %d frames copied)", done, logFrames)
	}
	return nil
}

// vacuumInto copies the journal to dst through a connection of its own:
// the read pool's connections are query_only, which VACUUM INTO honours.
// It reads one snapshot, so writes go on meanwhile.
func (j *Journal) vacuumInto(dst string) error {
	db, err := sql.Open("sqlite", dsnBackup(j.path))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, dst)
	return err
}

// Backup writes a consistent copy of the journal (what is committed,
// including what is still in the WAL) to dst, which must not exist, and
// returns its size. Writes go on meanwhile. The copy is 0600 and a plain
// SQLite file (rollback journal mode).
func (j *Journal) Backup(dst string) (int64, error) {
	return j.copyTo(dst, "backup", func() error { return j.vacuumInto(dst) })
}

// copyTo creates dst (0600, O_EXCL), fills it with vacuum, syncs it and
// returns its size; on failure dst is removed.
func (j *Journal) copyTo(dst, what string, vacuum func() error) (int64, error) {
	if dst == "" {
		return 0, fmt.Errorf("%w: empty %s path", ErrInvalid, what)
	}
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	// VACUUM INTO accepts an existing empty file: creating it here, O_EXCL,
	// both refuses an existing one and gives the copy mode 0600.
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return 0, fmt.Errorf("%w: %s", ErrBackupExists, dst)
	}
	if err != nil {
		return 0, fmt.Errorf("journal: %s: %w", what, err)
	}
	defer f.Close()
	if err := vacuum(); err != nil {
		_ = os.Remove(dst)
		return 0, fmt.Errorf("journal: %s: %w", what, err)
	}
	if err := f.Sync(); err != nil {
		_ = os.Remove(dst)
		return 0, fmt.Errorf("journal: %s: sync: %w", what, err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		return 0, fmt.Errorf("journal: %s: %w", what, err)
	}
	return st.Size(), nil
}
