package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TEMPORARY profiling scratch; removed before handing back.
func TestZZScratch(t *testing.T) {
	mode := os.Getenv("WH_SCRATCH")
	if mode == "" {
		return
	}
	ctx := context.Background()
	path := "/tmp/whprof/bench.duckdb"
	_, statErr := os.Stat(path)
	s, err := Open(path, DefaultOptions())
	require.NoError(t, err)
	defer s.Close()
	if statErr != nil {
		_, err = s.DB().ExecContext(ctx, genFeesSQL)
		require.NoError(t, err)
		_, err = s.DB().ExecContext(ctx, "COPY opendata_fees TO '/tmp/whprof/fees.parquet' (FORMAT parquet)")
		require.NoError(t, err)
	}
	if mode == "fees" {
		for _, f := range []FeeFilter{{}, {ServiceCode: "S0042"}, {}} {
			start := time.Now()
			rows, err := s.Fees(ctx, f)
			require.NoError(t, err)
			fmt.Printf("Fees(%+v): %d rows in %v\n", f, len(rows), time.Since(start))
		}
		return
	}
	q, err := os.ReadFile("/tmp/whprof/q.sql")
	require.NoError(t, err)
	for _, stmt := range strings.Split(string(q), ";;") {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		var args []any
		for tok, rep := range map[string]string{"@FEESPQ": FeeComparisonSQL("read_parquet('/tmp/whprof/fees.parquet')"), "@FEES": FeeComparisonSQL(DatasetFees)} {
			if strings.Contains(stmt, tok) {
				stmt = strings.Replace(stmt, tok, rep, 1)
				args = FeeFilter{}.Args()
				if strings.Contains(stmt, "@S42") {
					stmt = strings.Replace(stmt, "@S42", "", 1)
					args = FeeFilter{ServiceCode: "S0042"}.Args()
				}
			}
		}
		start := time.Now()
		cpu0 := cpuTime()
		rows, err := s.DB().QueryContext(ctx, stmt, args...)
		require.NoError(t, err, stmt)
		cols, _ := rows.Columns()
		n := 0
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		var out strings.Builder
		for rows.Next() {
			require.NoError(t, rows.Scan(ptrs...))
			if n < 40 && mode == "print" {
				for _, v := range vals {
					if ns, ok := v.(sql.NullString); ok {
						v = ns.String
					}
					fmt.Fprintf(&out, "%v\t", v)
				}
				out.WriteString("\n")
			}
			n++
		}
		require.NoError(t, rows.Err())
		rows.Close()
		fmt.Printf("=== %d rows in %v (cpu %v): %.80s\n%s", n, time.Since(start), cpuTime()-cpu0, strings.ReplaceAll(stmt, "\n", " "), out.String())
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
