package objstore_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/objstore"
	"github.com/ofp-dev/ofp/internal/objstore/objstoretest"
)

func TestRoundTripOnRealS3Servers(t *testing.T) {
	for _, srv := range objstoretest.All(t) {
		t.Run(srv.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := objstore.New(srv.Config)
			require.NoError(t, err)
			require.NoError(t, s.EnsureBucket(ctx))
			require.NoError(t, s.EnsureBucket(ctx), "second call finds the bucket")

			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB: beyond one buffer
			require.NoError(t, s.Put(ctx, "ds/dt=2026-11-25/t-0-0-9.parquet", []byte("first"), "application/octet-stream"))
			require.NoError(t, s.Put(ctx, "ds/dt=2026-11-25/t-0-0-9.parquet", []byte("second"), "application/octet-stream"))
			require.NoError(t, s.Put(ctx, "ds/dt=2026-11-26/t-0-10-19.parquet", big, "application/octet-stream"))
			require.NoError(t, s.Put(ctx, "other/x.json", []byte("{}"), "application/json"))

			got, err := s.Get(ctx, "ds/dt=2026-11-25/t-0-0-9.parquet")
			require.NoError(t, err)
			require.Equal(t, "second", string(got), "a put to the same key replaces the object")
			got, err = s.Get(ctx, "ds/dt=2026-11-26/t-0-10-19.parquet")
			require.NoError(t, err)
			require.True(t, bytes.Equal(big, got))

			objs, err := s.List(ctx, "ds/")
			require.NoError(t, err)
			require.Len(t, objs, 2)
			require.Equal(t, "ds/dt=2026-11-25/t-0-0-9.parquet", objs[0].Key)
			require.Equal(t, int64(len(big)), objs[1].Size)

			_, err = s.Get(ctx, "ds/missing")
			require.Error(t, err)
		})
	}
}

func TestConfigStringHidesSecrets(t *testing.T) {
	c := objstore.Config{Endpoint: "https://s3", Bucket: "b", AccessKey: "AKIAEXAMPLE", SecretKey: "supersecret"}
	require.NotContains(t, c.String(), "supersecret")
	require.NotContains(t, c.String(), "AKIAEXAMPLE")
	require.True(t, strings.Contains(c.String(), "bucket=b"))
}

func TestNewRejectsBadEndpoints(t *testing.T) {
	_, err := objstore.New(objstore.Config{Endpoint: "ftp://x", Bucket: "b"})
	require.ErrorContains(t, err, "scheme")
	_, err = objstore.New(objstore.Config{Bucket: "b"})
	require.ErrorContains(t, err, "--s3-endpoint")
}
