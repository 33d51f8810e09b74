package payments

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/ofp-dev/ofp/internal/brtext"
)

// Brasilia is the time zone the spec reasons about dates in (America/Sao_Paulo,
// UTC-3 since daylight saving was abolished in 2019): brtext.Brasilia, the
// zone the customer pages write times in. A fixed zone keeps the binary
// free of a tzdata dependency.
var Brasilia = brtext.Brasilia

// Date is a calendar date (the spec's format: date, "YYYY-MM-DD").
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

var datePattern = regexp.MustCompile(`^(\d{4})-(1[0-2]|0?[1-9])-(3[01]|[12][0-9]|0?[1-9])$`)

// ParseDate reads "YYYY-MM-DD" (the spec's pattern also allows one-digit
// months and days); it refuses dates that do not exist (2025-02-30).
func ParseDate(s string) (Date, error) {
	m := datePattern.FindStringSubmatch(s)
	if m == nil {
		return Date{}, fmt.Errorf("payments: %q is not a date YYYY-MM-DD", s)
	}
	var y, mo, d int
	fmt.Sscanf(m[1]+" "+m[2]+" "+m[3], "%d %d %d", &y, &mo, &d) //nolint:errcheck // the pattern guarantees digits
	out := Date{Year: y, Month: time.Month(mo), Day: d}
	if t := out.midnightUTC(); t.Year() != y || t.Month() != time.Month(mo) || t.Day() != d {
		return Date{}, fmt.Errorf("payments: %s does not exist", s)
	}
	return out, nil
}

// DateOf is the Brasília calendar date of t.
func DateOf(t time.Time) Date {
	b := t.In(Brasilia)
	return Date{Year: b.Year(), Month: b.Month(), Day: b.Day()}
}

func (d Date) midnightUTC() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String is "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Start is 00:00 in Brasília on d.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Brasilia) }

// AddDays returns d moved by n calendar days.
func (d Date) AddDays(n int) Date {
	t := d.midnightUTC().AddDate(0, 0, n)
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.midnightUTC().Before(e.midnightUTC()) }

// DaysSince is the number of calendar days from e to d (negative if d is earlier).
func (d Date) DaysSince(e Date) int {
	return int(d.midnightUTC().Sub(e.midnightUTC()).Hours() / 24)
}

// Weekday is d's day of the week.
func (d Date) Weekday() time.Weekday { return d.midnightUTC().Weekday() }

// Schedule is the consent's payment.schedule: exactly one of the five kinds.
type Schedule struct {
	Single  *ScheduleSingle
	Daily   *ScheduleDaily
	Weekly  *ScheduleWeekly
	Monthly *ScheduleMonthly
	Custom  *ScheduleCustom
}

// ScheduleSingle: one payment on Date.
type ScheduleSingle struct{ Date Date }

// ScheduleDaily: Quantity payments on consecutive days from StartDate.
type ScheduleDaily struct {
	StartDate Date
	Quantity  int
}

// ScheduleWeekly: Quantity payments on DayOfWeek, the first on or after StartDate.
type ScheduleWeekly struct {
	DayOfWeek string // SEGUNDA_FEIRA ... DOMINGO
	StartDate Date
	Quantity  int
}

// ScheduleMonthly: Quantity payments on DayOfMonth, the first on or after
// StartDate. In a month without that day (29-31) the payment falls on the
// next day, as the spec tells the initiator to do.
type ScheduleMonthly struct {
	DayOfMonth int
	StartDate  Date
	Quantity   int
}

// ScheduleCustom: payments on each of Dates.
type ScheduleCustom struct {
	Dates                 []Date
	AdditionalInformation string
}

// Scheduling limits (payments 4.0.0: "Quantidade máxima permitida para
// agendamentos recorrentes" and ScheduleSingle.date).
const (
	// MaxScheduledPayments is the most payments one consent may schedule.
	MaxScheduledPayments = 60
	// MaxScheduleDays is how far ahead (D+730, Brasília) a scheduled date may be.
	MaxScheduleDays = 730
)

// Weekdays maps the spec's dayOfWeek enum.
var Weekdays = map[string]time.Weekday{
	"DOMINGO": time.Sunday, "SEGUNDA_FEIRA": time.Monday, "TERCA_FEIRA": time.Tuesday, "QUARTA_FEIRA": time.Wednesday,
	"QUINTA_FEIRA": time.Thursday, "SEXTA_FEIRA": time.Friday, "SABADO": time.Saturday,
}

// Kind names the schedule's kind ("single", "daily", ...), "" when none is set.
func (s Schedule) Kind() string {
	switch {
	case s.Single != nil:
		return "single"
	case s.Daily != nil:
		return "daily"
	case s.Weekly != nil:
		return "weekly"
	case s.Monthly != nil:
		return "monthly"
	case s.Custom != nil:
		return "custom"
	}
	return ""
}

func (s Schedule) kinds() int {
	n := 0
	for _, set := range []bool{s.Single != nil, s.Daily != nil, s.Weekly != nil, s.Monthly != nil, s.Custom != nil} {
		if set {
			n++
		}
	}
	return n
}

// Dates expands the schedule into its settlement dates, in order. It
// returns a *RuleError for a malformed schedule (PARAMETRO_INVALIDO; more
// than MaxScheduledPayments: PARAMETRO_INVALIDO "Quantidade permitida de
// pagamentos excedida").
func (s Schedule) Dates() ([]Date, error) {
	if s.kinds() != 1 {
		return nil, ruleErr(CodeInvalidParameter, "Parâmetro schedule deve ter exatamente um tipo de agendamento.")
	}
	tooMany := func(n int) error {
		if n > MaxScheduledPayments {
			return ruleErr(CodeInvalidParameter, "Quantidade permitida de pagamentos excedida")
		}
		if n < 1 {
			return ruleErr(CodeInvalidParameter, "Parâmetro schedule.quantity não obedece às regras de formatação esperadas.")
		}
		return nil
	}
	var out []Date
	switch {
	case s.Single != nil:
		out = []Date{s.Single.Date}
	case s.Daily != nil:
		if err := tooMany(s.Daily.Quantity); err != nil {
			return nil, err
		}
		for i := range s.Daily.Quantity {
			out = append(out, s.Daily.StartDate.AddDays(i))
		}
	case s.Weekly != nil:
		if err := tooMany(s.Weekly.Quantity); err != nil {
			return nil, err
		}
		wd, ok := Weekdays[s.Weekly.DayOfWeek]
		if !ok {
			return nil, ruleErr(CodeInvalidParameter, "Parâmetro schedule.weekly.dayOfWeek não obedece às regras de formatação esperadas.")
		}
		first := s.Weekly.StartDate.AddDays((int(wd) - int(s.Weekly.StartDate.Weekday()) + 7) % 7)
		for i := range s.Weekly.Quantity {
			out = append(out, first.AddDays(7*i))
		}
	case s.Monthly != nil:
		if err := tooMany(s.Monthly.Quantity); err != nil {
			return nil, err
		}
		if s.Monthly.DayOfMonth < 1 || s.Monthly.DayOfMonth > 31 {
			return nil, ruleErr(CodeInvalidParameter, "Parâmetro schedule.monthly.dayOfMonth não obedece às regras de formatação esperadas.")
		}
		y, m := s.Monthly.StartDate.Year, s.Monthly.StartDate.Month
		if s.Monthly.StartDate.Day > s.Monthly.DayOfMonth {
			m++
		}
		for len(out) < s.Monthly.Quantity {
			out = append(out, monthDay(y, m, s.Monthly.DayOfMonth))
			m++
		}
	case s.Custom != nil:
		if err := tooMany(len(s.Custom.Dates)); err != nil {
			return nil, err
		}
		out = slices.Clone(s.Custom.Dates)
		slices.SortFunc(out, func(a, b Date) int { return a.DaysSince(b) })
		for i := 1; i < len(out); i++ {
			if out[i] == out[i-1] {
				return nil, ruleErr(CodeInvalidParameter, "Parâmetro schedule.custom.dates não pode conter datas repetidas.")
			}
		}
	}
	return out, nil
}

// monthDay is day d of month m of year y (m may overflow into later years);
// a day the month does not have falls on the first day after the month.
func monthDay(y int, m time.Month, d int) Date {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		n := first.AddDate(0, 1, 0)
		return Date{Year: n.Year(), Month: n.Month(), Day: 1}
	}
	return Date{Year: first.Year(), Month: first.Month(), Day: d}
}

// CheckScheduleWindow checks dates against the consent's creation day
// (Brasília): every date at least D+1 and at most D+730, otherwise
// DATA_PAGAMENTO_INVALIDA.
func CheckScheduleWindow(dates []Date, created time.Time) error {
	today := DateOf(created)
	for _, d := range dates {
		n := d.DaysSince(today)
		if n < 1 {
			return ruleErr(CodeInvalidPaymentDate, fmt.Sprintf("Data de pagamento %s inválida: o agendamento deve ser a partir de D+1.", d))
		}
		if n > MaxScheduleDays {
			return ruleErr(CodeInvalidPaymentDate, fmt.Sprintf("Data de pagamento %s inválida: o agendamento deve ser de no máximo D+%d.", d, MaxScheduleDays))
		}
	}
	return nil
}
