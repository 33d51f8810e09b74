package main

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// memPeak is what a phase used at most. Go figures come from
// runtime/metrics; RSS (which includes DuckDB's C heap and kfake's data)
// from /proc/self/statm. MaxRSS is getrusage's process-wide high-water mark
// at the end of the phase (it never goes down, so it covers earlier phases).
type memPeak struct {
	HeapStart uint64 // Go heap in use when the phase started (after a GC)
	HeapPeak  uint64 // max Go heap in use (objects + unused spans)
	GoSysPeak uint64 // max memory mapped by the Go runtime
	RSSPeak   uint64 // max resident set size sampled
	MaxRSS    uint64 // getrusage ru_maxrss at the end
	// CPU is the process's CPU time (user + system, all threads: Go,
	// DuckDB, the in-process Kafka and S3) during the phase.
	CPU time.Duration
}

// sampler polls memory every interval until stop.
type sampler struct {
	mu   sync.Mutex
	peak memPeak
	done chan struct{}
	wg   sync.WaitGroup
}

var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/total:bytes"},
}

func readMem() (heap, sys uint64) {
	s := make([]metrics.Sample, len(memSamples))
	copy(s, memSamples)
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64(), s[2].Value.Uint64()
}

var pageSize = uint64(os.Getpagesize())

// currentRSS reads the resident set size; 0 where /proc is missing.
func currentRSS() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return n * pageSize
}

// rusage is the process's resource usage (zero if it cannot be read).
func rusage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

// cpuTime is the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	ru := rusage()
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set size (Linux reports KiB).
func maxRSS() uint64 { return uint64(rusage().Maxrss) * 1024 }

// startSampler collects garbage (so the phase starts from its live heap) and
// starts sampling.
func startSampler(interval time.Duration) *sampler {
	runtime.GC()
	s := &sampler{done: make(chan struct{})}
	heap, _ := readMem()
	s.peak.HeapStart = heap
	s.peak.CPU = -cpuTime()
	s.sample()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	heap, sys := readMem()
	rss := currentRSS()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak.HeapPeak = max(s.peak.HeapPeak, heap)
	s.peak.GoSysPeak = max(s.peak.GoSysPeak, sys)
	s.peak.RSSPeak = max(s.peak.RSSPeak, rss)
}

// stop ends sampling and returns the peaks.
func (s *sampler) stop() memPeak {
	s.sample()
	close(s.done)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak.MaxRSS = maxRSS()
	s.peak.CPU += cpuTime()
	return s.peak
}
