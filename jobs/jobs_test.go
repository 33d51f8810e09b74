package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/jobs"
)

func newScheduler() *jobs.Scheduler {
	return jobs.New(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
}

func TestRegisterRejectsBadSchedule(t *testing.T) {
	s := newScheduler()
	err := s.Register("x", "every hour", func(context.Context) error { return nil })
	require.ErrorContains(t, err, "@hourly")
	require.NoError(t, s.Register("x", "@hourly", func(context.Context) error { return nil }))
	require.Error(t, s.Register("x", "@hourly", func(context.Context) error { return nil }), "duplicate name")
	require.NoError(t, s.Register("y", "*/5 * * * *", func(context.Context) error { return nil }))
	require.NoError(t, s.Register("z", "30 */5 * * * *", func(context.Context) error { return nil }), "seconds field accepted")
}

func TestRunNowRecordsHistoryAndRefusesOverlap(t *testing.T) {
	s := newScheduler()
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	require.NoError(t, s.Register("collect", "@hourly", func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			close(started)
			<-release
			return nil
		}
		return errors.New("institution unreachable")
	}))
	done := make(chan jobs.Run)
	go func() { r, _ := s.RunNow(context.Background(), "collect"); done <- r }()
	<-started
	_, err := s.RunNow(context.Background(), "collect")
	require.ErrorIs(t, err, jobs.ErrAlreadyRunning)
	require.True(t, s.Jobs()[0].Running)
	close(release)
	require.Equal(t, "ok", (<-done).Status)

	r, err := s.RunNow(context.Background(), "collect")
	require.ErrorContains(t, err, "unreachable")
	require.Equal(t, "failed", r.Status)

	h, err := s.History("collect")
	require.NoError(t, err)
	require.Len(t, h, 2)
	require.Equal(t, []string{"ok", "failed"}, []string{h[0].Status, h[1].Status})
	_, err = s.RunNow(context.Background(), "nope")
	require.ErrorIs(t, err, jobs.ErrUnknownJob)
}

type denyLocker struct{}

func (denyLocker) TryLock(context.Context, string) (func(), bool, error) { return nil, false, nil }

func TestLockerHeldElsewhereSkipsRun(t *testing.T) {
	s := jobs.New(slog.New(slog.NewTextHandler(io.Discard, nil)), denyLocker{})
	ran := false
	require.NoError(t, s.Register("j", "@hourly", func(context.Context) error { ran = true; return nil }))
	r, err := s.RunNow(context.Background(), "j")
	require.ErrorIs(t, err, jobs.ErrAlreadyRunning)
	require.Equal(t, "skipped", r.Status)
	require.False(t, ran)
}

func TestScheduleFires(t *testing.T) {
	s := newScheduler()
	fired := make(chan struct{}, 1)
	require.NoError(t, s.Register("tick", "@every 1s", func(context.Context) error {
		select {
		case fired <- struct{}{}:
		default:
		}
		return nil
	}))
	s.Start()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("@every 1s job did not fire within 5s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
}

func TestAdminAPI(t *testing.T) {
	s := newScheduler()
	require.NoError(t, s.Register("collect-opendata", "0 * * * *", func(context.Context) error { return nil }))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/admin/v1/jobs/collect-opendata/run", "", nil)
	require.NoError(t, err)
	var run jobs.Run
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&run))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "ok", run.Status)
	require.Equal(t, "manual", run.Trigger)

	resp, err = http.Get(srv.URL + "/admin/v1/jobs")
	require.NoError(t, err)
	var infos []jobs.Info
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&infos))
	resp.Body.Close()
	require.Len(t, infos, 1)
	require.NotNil(t, infos[0].LastRun)
	require.False(t, infos[0].Next.IsZero())

	resp, err = http.Post(srv.URL+"/admin/v1/jobs/missing/run", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}
