package warehouse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const holderEnv = "OFP_WAREHOUSE_TEST_HOLDER"

// TestMain lets the test binary act as "another process holding the
// warehouse for writing" when started with holderEnv set.
func TestMain(m *testing.M) {
	if path := os.Getenv(holderEnv); path != "" {
		os.Exit(holdWarehouse(path))
	}
	os.Exit(m.Run())
}

func holdWarehouse(path string) int {
	s, err := Open(path, DefaultOptions())
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold until the test closes stdin
	_ = s.Close()
	return 0
}

func TestOpenSnapshotWhileAnotherProcessWrites(t *testing.T) {
	s, path := openTemp(t)
	seedComparison(t, s)
	require.NoError(t, s.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	// The writer's lock blocks a plain read-only open ...
	_, err = OpenReadOnly(path, DefaultOptions())
	require.Error(t, err)
	require.True(t, isLockError(err), "%v", err)

	// ... but a snapshot copy works and shows the data.
	snap, err := OpenSnapshot(path, DefaultOptions())
	require.NoError(t, err)
	require.True(t, snap.ReadOnly())
	rows, err := snap.Fees(context.Background(), FeeFilter{ServiceCode: "TED"})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	copyDir := filepath.Dir(snap.path)
	require.NotEqual(t, filepath.Dir(path), copyDir)
	require.NoError(t, snap.Close())
	_, err = os.Stat(copyDir)
	require.True(t, os.IsNotExist(err), "snapshot copy removed on Close")

	// Once the writer is gone, read-only opens directly.
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	ro, err := OpenSnapshot(path, DefaultOptions())
	require.NoError(t, err)
	require.Equal(t, path, ro.path)
	require.NoError(t, ro.Close())
}
