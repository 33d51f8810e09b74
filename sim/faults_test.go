package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseFaults(t *testing.T) {
	m, err := ParseFaults("org=abc:latency=200ms,5xx=0.2,429=0.1,retry-after=2s,malformed=0.1,truncated=0.1,invalid=0.2,maxfail=3; org=def:5xx=1")
	require.NoError(t, err)
	require.Equal(t, Faults{Latency: 200 * time.Millisecond, P5xx: 0.2, P429: 0.1, RetryAfter: 2 * time.Second,
		PMalformed: 0.1, PTruncated: 0.1, PInvalid: 0.2, MaxConsecutive: 3}, m["abc"])
	require.Equal(t, Faults{P5xx: 1}, m["def"])
	back, err := ParseFaults(FormatFaults(m))
	require.NoError(t, err)
	require.Equal(t, m, back)

	for _, bad := range []string{"abc:5xx=0.1", "org=x:5xx=2", "org=x:5xx=0.6,429=0.6", "org=x:bogus=1", "org=x:latency=fast", "org=x:5xx"} {
		_, err := ParseFaults(bad)
		require.Error(t, err, bad)
	}
}

func FuzzParseFaults(f *testing.F) {
	f.Add("org=abc:latency=200ms,5xx=0.2,429=0.1,retry-after=1s,malformed=0.1,truncated=0.1,invalid=0.2")
	f.Add("org=a:;org=b:maxfail=1")
	f.Add(";;org=:x")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseFaults(s)
		if err != nil {
			return
		}
		for _, v := range m {
			require.NoError(t, v.validate())
		}
	})
}

// faultyOrg returns a complete, active organisation to inject faults into.
func faultyOrg(t *testing.T) Organisation {
	e, err := New(DefaultConfig("http://127.0.0.1:1"))
	require.NoError(t, err)
	for _, o := range e.Organisations() {
		if o.Complete {
			return o
		}
	}
	t.Fatal("no complete organisation")
	return Organisation{}
}

func TestTransportFaultsAreDeterministicAndWellFormed(t *testing.T) {
	org := faultyOrg(t)
	e, base := startEco(t, func(c *Config) {
		c.Faults = map[string]Faults{org.ID: {P5xx: 0.25, P429: 0.25, PMalformed: 0.25, PTruncated: 0.25, RetryAfter: 1500 * time.Millisecond}}
	})
	inst := org.Institutions[0]
	seen := map[string]int{}
	for _, product := range Products[:4] {
		url := inst.EndpointURL(base, product)
		path := inst.BasePath + "/open-banking/" + inst.Family(product) + "/v1/" + product
		for attempt := range 6 {
			want := e.FaultFor(org.ID, path, 1, 25, attempt)
			resp, err := http.Get(url)
			require.NoError(t, err)
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.True(t, IsSimulated(resp.Header))
			seen[want]++
			switch want {
			case Fault5xx:
				require.GreaterOrEqual(t, resp.StatusCode, 500)
				require.NoError(t, readErr)
				var er struct{ Errors []struct{ Code string } }
				require.NoError(t, json.Unmarshal(body, &er))
				require.NotEmpty(t, er.Errors)
			case Fault429:
				require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
				require.Equal(t, "2", resp.Header.Get("Retry-After"))
			case FaultMalformed:
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.NoError(t, readErr)
				require.False(t, json.Valid(body))
			case FaultTruncated:
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.True(t, errors.Is(readErr, io.ErrUnexpectedEOF), "got %v", readErr)
				full, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
				require.Less(t, len(body), full)
				require.False(t, json.Valid(body))
			case FaultNone:
				require.Equal(t, http.StatusOK, resp.StatusCode)
				require.NoError(t, readErr)
				require.True(t, json.Valid(body))
			}
			require.Equal(t, want, resp.Header.Get(FaultHeader), "attempt %d of %s", attempt, url)
		}
	}
	for _, k := range []string{Fault5xx, Fault429, FaultMalformed, FaultTruncated} {
		require.Positive(t, seen[k], "fault %s never occurred", k)
	}
}

func TestMaxConsecutiveLetsRetriesThrough(t *testing.T) {
	org := faultyOrg(t)
	e, base := startEco(t, func(c *Config) {
		c.Faults = map[string]Faults{org.ID: {P5xx: 1, MaxConsecutive: 2}}
	})
	inst := org.Institutions[0]
	url := inst.EndpointURL(base, "personal-loans")
	for attempt := range 3 {
		resp, _ := get(t, url)
		if attempt < 2 {
			require.GreaterOrEqual(t, resp.StatusCode, 500)
		} else {
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}
	e.ResetAttempts()
	resp, _ := get(t, url)
	require.GreaterOrEqual(t, resp.StatusCode, 500)
}

func TestLatencyIsAdded(t *testing.T) {
	org := faultyOrg(t)
	_, base := startEco(t, func(c *Config) {
		c.Faults = map[string]Faults{org.ID: {Latency: 100 * time.Millisecond}}
	})
	start := time.Now()
	resp, _ := get(t, org.Institutions[0].EndpointURL(base, "personal-loans"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestInvalidRecordsAreMarkedAndBreakTheSchema(t *testing.T) {
	org := faultyOrg(t)
	e, base := startEco(t, func(c *Config) {
		c.Faults = map[string]Faults{org.ID: {PInvalid: 0.5}}
	})
	inst := org.Institutions[0]
	defectsSeen := map[string]bool{}
	invalidRecords := map[string]map[int]string{}
	for _, f := range e.Fees() {
		if f.OrganisationID != org.ID {
			require.True(t, f.Valid)
			continue
		}
		if !f.Valid {
			defectsSeen[f.Fault] = true
			if invalidRecords[f.Product] == nil {
				invalidRecords[f.Product] = map[int]string{}
			}
			invalidRecords[f.Product][f.Record] = f.Fault
		}
	}
	for _, r := range e.Rates() {
		if !r.Valid {
			require.Equal(t, org.ID, r.OrganisationID)
			defectsSeen[r.Fault] = true
		}
	}
	for _, d := range defects {
		require.True(t, defectsSeen[d], "defect %s never injected", d)
	}
	// A page holding an invalid fee fails schema validation (a duplicated
	// band is schema-valid: only its meaning is broken).
	product := "personal-accounts"
	rec := -1
	for r, d := range invalidRecords[product] {
		if d != DefectDuplicatedBand {
			rec = r
			break
		}
	}
	require.GreaterOrEqual(t, rec, 0)
	_, body := get(t, fmt.Sprintf("%s?page=%d&page-size=1", inst.EndpointURL(base, product), rec+1))
	schema := responseSchemaOf(t, specFileFor(inst.Family(product)), "/"+product)
	require.Error(t, validateJSON(schema, body))
	// Same bytes every time: the defect is persistent.
	_, again := get(t, fmt.Sprintf("%s?page=%d&page-size=1", inst.EndpointURL(base, product), rec+1))
	require.Equal(t, body, again)
}

func TestDemoConfig(t *testing.T) {
	e, err := New(DemoConfig("http://127.0.0.1:1"))
	require.NoError(t, err)
	require.Len(t, e.Config().Faults, 3)
	for id := range e.Config().Faults {
		o, ok := e.Organisation(id)
		require.True(t, ok, id)
		require.NotEmpty(t, o.Institutions)
	}
}
