package config_test

import (
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/config"
)

func TestEnvironmentSetsFlagDefaultsAndFlagsWin(t *testing.T) {
	t.Setenv("OFP_KAFKA_BROKERS", "k1:9092, k2:9092")
	t.Setenv("OFP_S3_BUCKET", "from-env")
	c := config.Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.Register(fs, config.FlagKafka, config.FlagS3Bucket, config.FlagDataDir)
	require.NoError(t, fs.Parse([]string{"--s3-bucket", "from-flag"}))
	require.Equal(t, []string{"k1:9092", "k2:9092"}, c.Brokers())
	require.Equal(t, "from-flag", c.S3Bucket)
	require.Equal(t, "./var", c.DataDir)
	require.Equal(t, "OFP_S3_SECRET_KEY", config.EnvName(config.FlagS3SecretKey))
}

func TestStringNeverShowsSecrets(t *testing.T) {
	t.Setenv("OFP_S3_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG")
	c := config.Default()
	c.Register(flag.NewFlagSet("x", flag.ContinueOnError), config.FlagS3SecretKey)
	require.Equal(t, "wJalrXUtnFEMI/K7MDENG", c.S3SecretKey)
	out := c.String()
	require.NotContains(t, out, "wJalrXUtnFEMI")
	require.Contains(t, out, "S3SecretKey=[redacted]")
	require.True(t, strings.Contains(out, "DataDir=./var"))
}
