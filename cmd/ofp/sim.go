package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ofp-dev/ofp/sim"
)

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "backend" {
		return runSimBackend(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("sim [flags] | sim backend [flags]",
		"Serves only the simulated ecosystem: the central directory (GET /participants, official format,\n"+
			"seeded with the real 2021 participants with their open-data URLs pointed here) and every\n"+
			"simulated institution's open-data APIs. Use it to test a collector, ours or anyone's.\n"+
			"`ofp sim backend` serves instead an institution's back end (core banking and customer logins)\n"+
			"for `ofp serve --backend-url`; see `ofp sim backend --help`.\n\n"+
			"Fault profiles (--faults): none; demo (a few institutions misbehave); or a spec\n"+
			"  org=<OrganisationId>:latency=200ms,5xx=0.2,429=0.1,retry-after=1s,malformed=0.1,truncated=0.1,invalid=0.2,maxfail=2;org=...",
		"  ofp sim --listen 127.0.0.1:8090\n  ofp collect opendata --once --directory-url http://127.0.0.1:8090/participants",
		stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve on")
	faults := fs.String("faults", "none", "fault profile: none, demo, or a spec")
	volume := fs.Int("products-per-endpoint", 0, "average records per endpoint (0 = default); raise it for load tests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, stop, err := startSim(*listen, *faults, *volume)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Fprintf(stdout, "simulated ecosystem on %s\n  directory: %s/participants\n  every figure it serves is SIMULATED\nCtrl-C to stop.\n", base, base)
	<-ctx.Done()
	return nil
}

// simFaultProfile turns --faults into the simulator's per-organisation faults.
func simFaultProfile(profile string) (map[string]sim.Faults, error) {
	switch strings.TrimSpace(profile) {
	case "", "none":
		return nil, nil
	case "demo":
		return sim.DemoFaults(), nil
	}
	f, err := sim.ParseFaults(profile)
	if err != nil {
		return nil, fmt.Errorf("--faults: %w", err)
	}
	return f, nil
}
