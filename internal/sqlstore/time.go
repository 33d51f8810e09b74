package sqlstore

import (
	"fmt"
	"time"
)

// NormTime is how stores keep every time: UTC with microsecond precision
// (what PostgreSQL stores), so a value reads back equal to what was
// written on either engine.
func NormTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// NormTimePtr is NormTime of *t, or nil.
func NormTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := NormTime(*t)
	return &n
}

// Time scans a time column of either engine: a time.Time from pgx, RFC
// 3339 text (SQLiteTimeFormat) from SQLite, or NULL (Valid false). T is
// always UTC.
type Time struct {
	T     time.Time
	Valid bool
}

var _ interface{ Scan(any) error } = (*Time)(nil)

// Scan implements sql.Scanner.
func (d *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.T, d.Valid = time.Time{}, false
		return nil
	case time.Time:
		d.T, d.Valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
}

func (d *Time) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlstore: stored time %q is not RFC 3339: %w", s, err)
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

// Ptr is &T, or nil for NULL.
func (d Time) Ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}
