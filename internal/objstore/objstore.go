package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config selects a bucket on an S3-compatible server.
type Config struct {
	Endpoint  string // URL (http://host:port or https://host) or host:port (https assumed)
	Bucket    string
	AccessKey string
	SecretKey string //nolint:gosec // a credential field, never logged: see String
	Region    string
}

// String describes the configuration without its secret.
func (c Config) String() string {
	return fmt.Sprintf("s3 endpoint=%s bucket=%s access_key=%s", c.Endpoint, c.Bucket, redact(c.AccessKey))
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// Store reads and writes objects in one bucket.
type Store struct {
	cl     *minio.Client
	bucket string
}

// Object describes a stored object.
type Object struct {
	Key  string
	Size int64
}

// New connects to cfg's server. It does not contact the server; call
// EnsureBucket to create the bucket and check the credentials.
func New(cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("objstore: --s3-endpoint and --s3-bucket are required (or run `ofp demo` for the embedded S3 server)")
	}
	host, secure, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	cl, err := minio.New(host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: secure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: client for %s: %w", host, err)
	}
	return &Store{cl: cl, bucket: cfg.Bucket}, nil
}

func parseEndpoint(ep string) (host string, secure bool, err error) {
	if !strings.Contains(ep, "://") {
		return ep, true, nil
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("objstore: endpoint %q is not a URL or host:port", ep)
	}
	switch u.Scheme {
	case "http":
		return u.Host, false, nil
	case "https":
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("objstore: endpoint %q: scheme must be http or https", ep)
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket when it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.cl.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objstore: check bucket %s (is the S3 server up and are the credentials right?): %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	if err := s.cl.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{}); err != nil {
		return fmt.Errorf("objstore: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Put stores data under key, replacing any object already there. Writing
// the same key twice with the same bytes is how ofp makes re-runs
// idempotent.
func (s *Store) Put(ctx context.Context, key string, data []byte, contentType string) error {
	_, err := s.cl.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: contentType,
		// Single-part uploads of known size; chunk-signed streaming is
		// not understood by every S3 stand-in.
		DisableContentSha256: true,
		SendContentMd5:       true,
	})
	if err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	return nil
}

// Get returns the object's bytes.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	o, err := s.cl.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("objstore: get %s: %w", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		return nil, fmt.Errorf("objstore: read %s: %w", key, err)
	}
	return b, nil
}

// List returns every object under prefix, sorted by key.
func (s *Store) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	for o := range s.cl.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("objstore: list %s: %w", prefix, o.Err)
		}
		out = append(out, Object{Key: o.Key, Size: o.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
