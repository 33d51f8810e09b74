package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// A running ofp server holds an exclusive lock on <data-dir>/ofp.lock and
// describes itself in <data-dir>/server.json, so that commands run beside
// it (report, collect) talk to it instead of fighting over the DuckDB file
// and the embedded Kafka log.

type serverInfo struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
	// HolderURL is the TLS listener of the regulated interface, when on.
	HolderURL string `json:"holder_url,omitempty"`
}

var errDataDirBusy = errors.New("another ofp process is using this data dir")

// lockDataDir takes the data dir's lock; release frees it.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "ofp.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w (%s): stop it, or use another --data-dir", errDataDirBusy, dir)
	}
	return func() {
		_ = os.Remove(filepath.Join(dir, "server.json"))
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func writeServerInfo(dir string, info serverInfo) error {
	b, _ := json.Marshal(info)
	tmp := filepath.Join(dir, "server.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "server.json"))
}

// runningServer reports the server that holds dir, if any.
func runningServer(dir string) (serverInfo, bool) {
	release, err := lockDataDir(dir)
	if err == nil {
		release()
		return serverInfo{}, false
	}
	if !errors.Is(err, errDataDirBusy) {
		return serverInfo{}, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		return serverInfo{}, true // busy, but not (yet) serving: a collect --once or a rebuild
	}
	var info serverInfo
	_ = json.Unmarshal(b, &info)
	return info, true
}
