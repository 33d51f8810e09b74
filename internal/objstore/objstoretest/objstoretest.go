// Package objstoretest starts real S3 servers for tests: the embedded
// gofakes3 server and, when the binary is installed (`make tools` or
// .ci/run does it), versitygw, a real S3 gateway over a POSIX folder.
package objstoretest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ofp-dev/ofp/internal/objstore"
)

// Server is one S3 server a test can use.
type Server struct {
	Name   string
	Config objstore.Config
}

// Embedded starts the embedded S3 server over a temporary folder.
func Embedded(t testing.TB) Server {
	t.Helper()
	e, err := objstore.StartEmbedded(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("embedded s3: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return Server{Name: "embedded", Config: objstore.Config{Endpoint: e.URL(), Bucket: "lake", AccessKey: "test", SecretKey: "test-secret", Region: "us-east-1"}}
}

// VersityGW starts a versitygw process over a temporary folder. The test
// fails (it is not skipped) when the binary is missing, saying how to
// install it.
func VersityGW(t testing.TB) Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
		if _, serr := os.Stat(gobin); serr != nil {
			t.Fatalf("versitygw is not installed: run `make tools` (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)")
		}
		bin = gobin
	}
	dir := t.TempDir()
	port := freePort(t)
	const access, secret = "ofptestaccess", "ofptestsecretkey123"
	cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", fmt.Sprintf("127.0.0.1:%d", port), "posix", dir)
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not answer on %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a child process's port: there is no event to wait on
	}
	return Server{Name: "versitygw", Config: objstore.Config{Endpoint: url, Bucket: "lake", AccessKey: access, SecretKey: secret, Region: "us-east-1"}}
}

// All returns every S3 server tests must pass against.
func All(t testing.TB) []Server { return []Server{Embedded(t), VersityGW(t)} }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
