package warehouse

import (
	"sync"
	"time"
)

// Stats is the work a Store has done since it was opened: its loads and
// where their time went, its checkpoints and its refreshes of the derived
// comparison tables. cmd/ofp exports it as Prometheus counters
// (ofp_warehouse_*); ofpbench prints the loads' split beside the
// pipeline's figures.
type Stats struct {
	// Loads is the LoadBatches calls committed, LoadRows the rows they
	// inserted; FailedLoads the calls that failed and were rolled back
	// (the pipeline retries them).
	Loads, FailedLoads, LoadRows int64
	// LoadSteps is where the loads' time went, failed ones included.
	LoadSteps LoadSteps
	// Checkpoints fold the write-ahead log into the file (Checkpoint,
	// every 30 s of loads, Close); Checkpoint is their time.
	Checkpoints int64
	Checkpoint  time.Duration
	// Refreshes of the derived comparison tables (background, RefreshPending,
	// Refresh, Open, Close) and their time.
	Refreshes int64
	Refresh   time.Duration
	// Folds of item files into the item tables' DuckDB tables
	// (itemfiles.go), the files and items they folded, and their time.
	Folds, FoldedFiles, FoldedItems int64
	Fold                            time.Duration
}

// LoadSteps splits the time of loads by step.
type LoadSteps struct {
	// Plan reads the files' footers and checks their columns against the
	// contract (before the transaction).
	Plan time.Duration
	// Items finds the contents the item files bring that the warehouse
	// does not hold, stores their items (itemfiles.go) and indexes them;
	// folding files into tables afterwards is Stats.Fold.
	Items time.Duration
	// Rows replaces and inserts the rows of the datasets with source
	// columns (pages, collections, API calls...), with the loads log.
	Rows time.Duration
	// Queue queues the keys of the comparison tables the load changed
	// for refresh.
	Queue time.Duration
	// Commit is the transaction's commit, where DuckDB compresses and
	// writes the row groups the load did not write as it went.
	Commit time.Duration
}

// Total is the time of all steps.
func (l LoadSteps) Total() time.Duration { return l.Plan + l.Items + l.Rows + l.Queue + l.Commit }

// Sub is the time of each step in l beyond o (l a later Stats than o).
func (l LoadSteps) Sub(o LoadSteps) LoadSteps {
	return LoadSteps{Plan: l.Plan - o.Plan, Items: l.Items - o.Items, Rows: l.Rows - o.Rows, Queue: l.Queue - o.Queue, Commit: l.Commit - o.Commit}
}

func (l *LoadSteps) add(o LoadSteps) {
	l.Plan += o.Plan
	l.Items += o.Items
	l.Rows += o.Rows
	l.Queue += o.Queue
	l.Commit += o.Commit
}

// statsRecorder keeps a Store's Stats.
type statsRecorder struct {
	mu sync.Mutex
	s  Stats
}

func (r *statsRecorder) load(steps LoadSteps, rows int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.LoadSteps.add(steps)
	if ok {
		r.s.Loads++
		r.s.LoadRows += rows
	} else {
		r.s.FailedLoads++
	}
}

func (r *statsRecorder) checkpoint(took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Checkpoints++
	r.s.Checkpoint += took
}

func (r *statsRecorder) refresh(took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Refreshes++
	r.s.Refresh += took
}

func (r *statsRecorder) fold(files int, items int64, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Folds++
	r.s.FoldedFiles += int64(files)
	r.s.FoldedItems += items
	r.s.Fold += took
}

// Stats returns what the store has done since it was opened.
func (s *Store) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	return s.stats.s
}
