package pipelines

import (
	"context"
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poll is what one PollRecords call brought, handed from the poller to Run.
type poll struct {
	fetches kgo.Fetches
	bytes   int64  // of the record values
	seq     uint64 // the poll's number when it holds records, else 0
	closed  bool   // the client is closed: the poller has stopped
	drained bool   // the drain marker: every poll before it was handed over, and none follows until the drain ends
}

// drain states of a poller.
const (
	drainNone      = iota
	drainRequested // Run wants the poller to stop polling
	drainMarked    // the poller sent the marker and waits for Run to end the drain
)

// poller polls the client ahead of Run, so that Kafka fetches and
// decompresses the next records while Run transforms and sinks the ones
// before them. At most limit bytes of record values wait in its queue.
//
// It alone calls PollRecords and AllowRebalance. The client (with
// BlockRebalanceOnPoll) blocks rebalances from the moment a poll returns
// (with records, errors, or none when its wait ended) until
// AllowRebalance, which the poller calls once Run has settled (committed,
// or given up on) every poll it handed over: a partition never moves
// while records of it are being sunk. Settling the last poll ends the
// poll in progress, so that an idle runner lets a rebalance through at
// once rather than when the next record comes. Under
// continuous input that moment never comes by itself, so Run asks for a
// drain: the poller stops polling and sends a marker, Run sinks and
// commits everything before the marker, and ends the drain, which lets
// the rebalance through.
type poller struct {
	cl    *kgo.Client
	max   int   // records per poll
	limit int64 // bytes of record values queued before the poller waits
	out   chan poll

	mu      sync.Mutex
	queued  int64  // bytes handed over and not yet taken by Run
	handed  uint64 // seq of the last poll with records
	settled uint64 // Run has settled every poll up to this seq
	drain   int
	wake    chan struct{}      // cap 1: something the poller waits on changed
	stop    context.CancelFunc // ends the poll in progress while a rebalance waits, else nil
}

func newPoller(cl *kgo.Client, maxRecords int, limit int64) *poller {
	return &poller{cl: cl, max: maxRecords, limit: limit, out: make(chan poll, 64), wake: make(chan struct{}, 1)}
}

func (p *poller) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// taken tells the poller that Run took a poll of n bytes from the queue.
func (p *poller) taken(n int64) {
	p.mu.Lock()
	p.queued -= n
	p.mu.Unlock()
	p.signal()
}

// settle tells the poller that every poll up to seq is committed or given up.
func (p *poller) settle(seq uint64) {
	p.mu.Lock()
	if seq > p.settled {
		p.settled = seq
	}
	if p.settled == p.handed {
		p.interrupt() // the waiting rebalance may go through now
	}
	p.mu.Unlock()
	p.signal()
}

// requestDrain asks the poller to stop polling and send the drain marker.
func (p *poller) requestDrain() {
	p.mu.Lock()
	if p.drain == drainNone {
		p.drain = drainRequested
		p.interrupt()
	}
	p.mu.Unlock()
	p.signal()
}

// interrupt ends the poll in progress, if it holds a rebalance (p.mu held).
func (p *poller) interrupt() {
	if p.stop != nil {
		p.stop()
	}
}

// endDrain lets the poller go on after a drain, once Run has settled
// everything before the marker.
func (p *poller) endDrain() {
	p.mu.Lock()
	p.drain = drainNone
	p.mu.Unlock()
	p.signal()
}

// run polls until ctx ends or the client is closed; then it closes out.
// Polls still queued are dropped by Run: their records were not committed
// and are consumed again.
func (p *poller) run(ctx context.Context) {
	defer close(p.out)
	send := func(pl poll) bool {
		select {
		case p.out <- pl:
			return true
		case <-ctx.Done():
			return false
		}
	}
	blocked := false // a poll returned and AllowRebalance was not called since
	for {
		p.mu.Lock()
		if blocked && p.settled == p.handed {
			p.cl.AllowRebalance()
			blocked = false
		}
		mark := p.drain == drainRequested
		if mark {
			p.drain = drainMarked
		}
		wait := p.drain == drainMarked || p.queued >= p.limit
		p.mu.Unlock()
		if mark && !send(poll{drained: true}) {
			return
		}
		if wait {
			select {
			case <-p.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		var fs kgo.Fetches
		if blocked {
			// settle and requestDrain end this poll, so that the loop
			// lets a waiting rebalance through (or sends the marker) at
			// once rather than when records come.
			pctx, cancel := context.WithCancel(ctx)
			p.mu.Lock()
			p.stop = cancel
			if p.settled == p.handed || p.drain == drainRequested {
				cancel() // they came before the poll began
			}
			p.mu.Unlock()
			fs = p.cl.PollRecords(pctx, p.max)
			p.mu.Lock()
			p.stop = nil
			p.mu.Unlock()
			cancel()
		} else {
			fs = p.cl.PollRecords(ctx, p.max)
		}
		if fs.IsClientClosed() {
			send(poll{closed: true})
			return
		}
		if ctx.Err() != nil {
			return
		}
		// Any poll that returns may hold rebalances: the client adds a
		// poller for a fetch of errors, or for a wait that ended, too.
		blocked = true
		pl := poll{fetches: fs}
		fs.EachRecord(func(rec *kgo.Record) { pl.bytes += int64(len(rec.Value)) })
		if fs.NumRecords() > 0 {
			p.mu.Lock()
			p.handed++
			pl.seq = p.handed
			p.queued += pl.bytes
			p.mu.Unlock()
		} else if !fetchFailed(fs) {
			continue
		}
		if !send(pl) {
			return
		}
	}
}

// fetchFailed reports whether fs holds an error other than the end of a
// poll's wait.
func fetchFailed(fs kgo.Fetches) bool {
	for _, e := range fs.Errors() {
		if !waitEnded(e.Err) {
			return true
		}
	}
	return false
}

// waitEnded reports whether err only says that a poll's wait ended.
func waitEnded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
