// Package progress shows how far a long piece of work (a collection, a
// backfill, a rebuild) has come: a redrawn bar on a terminal, a log line
// every few seconds otherwise.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar tracks done/total units of one task. It is safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	what     string
	total    int
	done     int
	failed   int
	start    time.Time
	last     time.Time
	every    time.Duration
	tty      io.Writer // nil when not a terminal
	log      *slog.Logger
	finished bool
}

// New starts a bar for total units of what. It draws on w when w is a
// terminal, and otherwise logs through log every interval.
func New(w io.Writer, log *slog.Logger, what string, total int, interval time.Duration) *Bar {
	b := &Bar{what: what, total: total, start: time.Now(), every: interval, log: log}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = w
	}
	b.last = b.start
	return b
}

// Add records n more units done; failed ones are counted apart.
func (b *Bar) Add(n int, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	if failed {
		b.failed += n
	}
	now := time.Now()
	switch {
	case b.tty != nil:
		b.draw()
	case now.Sub(b.last) >= b.every:
		b.last = now
		b.log.Info("progress", "task", b.what, "done", b.done, "total", b.total, "failed", b.failed, "elapsed", now.Sub(b.start).Round(time.Second).String())
	}
}

func (b *Bar) draw() {
	const width = 30
	filled := 0
	if b.total > 0 {
		filled = width * b.done / b.total
	}
	if filled > width {
		filled = width
	}
	fmt.Fprintf(b.tty, "\r%s [%s%s] %d/%d failed=%d %s ", b.what, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		b.done, b.total, b.failed, time.Since(b.start).Round(time.Second))
}

// Finish ends the bar with a summary line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.tty != nil {
		b.draw()
		fmt.Fprintln(b.tty)
	}
	b.log.Info("finished", "task", b.what, "done", b.done, "total", b.total, "failed", b.failed, "elapsed", time.Since(b.start).Round(time.Millisecond).String())
}
