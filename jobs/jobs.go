package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Func is the work of a job. It must return when ctx is cancelled.
type Func func(ctx context.Context) error

// Locker makes a job run on one replica at a time. TryLock returns
// ok=false when another holder has the lock.
type Locker interface {
	TryLock(ctx context.Context, job string) (unlock func(), ok bool, err error)
}

// Run is one execution of a job.
type Run struct {
	Job        string    `json:"job"`
	Trigger    string    `json:"trigger"` // "schedule" or "manual"
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Status     string    `json:"status"` // "running", "ok", "failed", "skipped"
	Error      string    `json:"error,omitempty"`
}

// Info describes a registered job.
type Info struct {
	Name     string    `json:"name"`
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next,omitzero"`
	Running  bool      `json:"running"`
	LastRun  *Run      `json:"last_run,omitempty"`
}

// ErrAlreadyRunning is returned by RunNow when the job is running here or
// on another replica; wait for it or look at its history.
var ErrAlreadyRunning = errors.New("jobs: job is already running")

// ErrUnknownJob is returned for a name that was never registered.
var ErrUnknownJob = errors.New("jobs: no such job")

type job struct {
	name     string
	schedule string
	sched    cron.Schedule
	fn       Func
	running  bool
	history  []Run
}

// Scheduler runs registered jobs on their schedules.
type Scheduler struct {
	log     *slog.Logger
	locker  Locker
	keep    int
	cron    *cron.Cron
	baseCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*job
}

// Parser accepts standard 5-field specs, an optional seconds field and
// descriptors (@hourly, @every 10m).
var Parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// New returns a scheduler; locker may be nil (single replica). History
// keeps the last 50 runs per job.
func New(log *slog.Logger, locker Locker) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		log: log, locker: locker, keep: 50, jobs: map[string]*job{},
		cron:    cron.New(cron.WithParser(Parser), cron.WithLocation(time.UTC)),
		baseCtx: ctx, cancel: cancel,
	}
}

// Register adds a job. An invalid schedule is an error that names the
// accepted forms.
func (s *Scheduler) Register(name, schedule string, fn Func) error {
	sched, err := Parser.Parse(schedule)
	if err != nil {
		return fmt.Errorf("jobs: schedule %q of %s: %w (use 5 cron fields, e.g. \"0 * * * *\", or @hourly, @every 30m)", schedule, name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("jobs: %s registered twice", name)
	}
	j := &job{name: name, schedule: schedule, sched: sched, fn: fn}
	s.cron.Schedule(sched, cron.FuncJob(func() { _, _ = s.run(s.baseCtx, name, "schedule") }))
	s.jobs[name] = j
	return nil
}

// Start begins firing schedules.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops firing, cancels running jobs and waits for them until ctx ends.
func (s *Scheduler) Stop(ctx context.Context) error {
	stopped := s.cron.Stop()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("jobs: running jobs did not stop in time: %w", ctx.Err())
	}
	<-stopped.Done()
	return nil
}

// RunNow runs a job immediately and waits for it.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Run, error) {
	return s.run(ctx, name, "manual")
}

func (s *Scheduler) run(ctx context.Context, name, trigger string) (Run, error) {
	s.mu.Lock()
	j, ok := s.jobs[name]
	if !ok {
		s.mu.Unlock()
		return Run{}, fmt.Errorf("%w: %s", ErrUnknownJob, name)
	}
	r := Run{Job: name, Trigger: trigger, StartedAt: time.Now().UTC(), Status: "running"}
	if j.running {
		s.mu.Unlock()
		s.log.Info("job still running; this run is skipped", "job", name, "trigger", trigger)
		return Run{}, ErrAlreadyRunning
	}
	j.running = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	var err error
	unlock := func() {}
	if s.locker != nil {
		var got bool
		unlock, got, err = s.locker.TryLock(ctx, name)
		if err == nil && !got {
			err = ErrAlreadyRunning
		}
	}
	if err == nil {
		s.log.Info("job started", "job", name, "trigger", trigger)
		err = j.fn(ctx)
		unlock()
	}
	r.FinishedAt = time.Now().UTC()
	switch {
	case errors.Is(err, ErrAlreadyRunning):
		r.Status = "skipped"
	case err != nil:
		r.Status, r.Error = "failed", err.Error()
		s.log.Error("job failed", "job", name, "trigger", trigger, "duration", r.FinishedAt.Sub(r.StartedAt).String(), "err", err)
	default:
		r.Status = "ok"
		s.log.Info("job finished", "job", name, "trigger", trigger, "duration", r.FinishedAt.Sub(r.StartedAt).String())
	}
	s.mu.Lock()
	j.running = false
	j.history = append(j.history, r)
	if len(j.history) > s.keep {
		j.history = j.history[len(j.history)-s.keep:]
	}
	s.mu.Unlock()
	return r, err
}

// Jobs lists registered jobs sorted by name.
func (s *Scheduler) Jobs() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Info, 0, len(s.jobs))
	for _, j := range s.jobs {
		in := Info{Name: j.name, Schedule: j.schedule, Running: j.running, Next: j.sched.Next(time.Now().UTC())}
		if n := len(j.history); n > 0 {
			last := j.history[n-1]
			in.LastRun = &last
		}
		out = append(out, in)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// History returns a job's runs, oldest first.
func (s *Scheduler) History(name string) ([]Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownJob, name)
	}
	return append([]Run(nil), j.history...), nil
}
