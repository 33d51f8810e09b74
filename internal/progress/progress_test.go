package progress_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ofp-dev/ofp/internal/progress"
)

func TestNotATerminalLogsProgressAndASummary(t *testing.T) {
	var logs, out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	b := progress.New(&out, log, "collecting", 3, 0) // interval 0: a line per step
	b.Add(1, false)
	b.Add(1, true)
	b.Add(1, false)
	b.Finish()
	b.Finish() // idempotent
	require.Empty(t, out.String(), "no bar drawn on a non-terminal")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	require.Len(t, lines, 4, "three progress lines and one summary")
	require.Contains(t, lines[1], "failed=1")
	require.Contains(t, lines[3], "msg=finished")
	require.Contains(t, lines[3], "done=3")
}
