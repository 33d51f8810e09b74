package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ofp-dev/ofp/internal/config"
)

func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := config.Default()
	fs := newFlagSet("config [flags]", "Prints the effective configuration (flags, OFP_* environment, defaults), secrets redacted.",
		"  OFP_KAFKA_BROKERS=k1:9092 ofp config", stderr)
	cfg.Register(fs, config.FlagDataDir, config.FlagListen, config.FlagKafka, config.FlagS3Endpoint, config.FlagS3Bucket,
		config.FlagS3AccessKey, config.FlagS3SecretKey, config.FlagS3Region, config.FlagDirectoryURL, config.FlagDatabaseURL, config.FlagSchedule,
		config.FlagLogLevel, config.FlagLogFormat)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, cfg.String())
	return nil
}
