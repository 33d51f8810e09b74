package objstore

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// Embedded is an in-process S3 server storing objects as files under a
// local folder, so the lake survives restarts and can be inspected with ls.
type Embedded struct {
	srv *http.Server
	ln  net.Listener
}

// StartEmbedded serves S3 on addr ("127.0.0.1:0" for a free port) over dir.
func StartEmbedded(dir, addr string) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("objstore: create lake dir: %w", err)
	}
	base := afero.NewBasePathFs(afero.NewOsFs(), dir)
	backend, err := s3afero.MultiBucket(base)
	if err != nil {
		return nil, fmt.Errorf("objstore: lake backend over %s: %w", dir, err)
	}
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(true), gofakes3.WithTimeSkewLimit(0))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("objstore: listen %s (is the address in use? pick another with --s3-listen): %w", addr, err)
	}
	e := &Embedded{srv: &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() { _ = e.srv.Serve(ln) }() // returns ErrServerClosed on Close
	return e, nil
}

// URL is the endpoint to give Config.Endpoint.
func (e *Embedded) URL() string { return "http://" + e.ln.Addr().String() }

// Close stops the server, waiting up to ctx for in-flight requests.
func (e *Embedded) Close(ctx context.Context) error {
	return e.srv.Shutdown(ctx)
}
