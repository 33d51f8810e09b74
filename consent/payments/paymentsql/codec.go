package paymentsql

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
)

// The JSON shapes below are how the immutable parts of consents and
// payments are kept in their body column. They are this package's storage
// format (the domain types carry no tags); change them only compatibly.

type docJSON struct {
	ID  string `json:"id"`
	Rel string `json:"rel"`
}

type accountJSON struct {
	ISPB   string `json:"ispb"`
	Issuer string `json:"issuer,omitempty"`
	Number string `json:"number"`
	Type   string `json:"type"`
}

type scheduleJSON struct {
	Kind       string   `json:"kind"`
	Dates      []string `json:"dates,omitempty"` // single: one; custom: all
	StartDate  string   `json:"startDate,omitempty"`
	Quantity   int      `json:"quantity,omitempty"`
	DayOfWeek  string   `json:"dayOfWeek,omitempty"`
	DayOfMonth int      `json:"dayOfMonth,omitempty"`
	Info       string   `json:"info,omitempty"`
}

type consentBody struct {
	Creditor struct {
		PersonType string `json:"personType"`
		CpfCnpj    string `json:"cpfCnpj"`
		Name       string `json:"name"`
	} `json:"creditor"`
	Type            string        `json:"type"`
	Date            string        `json:"date,omitempty"`
	Schedule        *scheduleJSON `json:"schedule,omitempty"`
	Currency        string        `json:"currency"`
	Amount          string        `json:"amount"`
	IbgeTownCode    string        `json:"ibgeTownCode,omitempty"`
	LocalInstrument string        `json:"localInstrument"`
	QRCode          string        `json:"qrCode,omitempty"`
	Proxy           string        `json:"proxy,omitempty"`
	CreditorAccount accountJSON   `json:"creditorAccount"`
}

func toAccountJSON(a payments.Account) accountJSON {
	return accountJSON{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, Type: a.AccountType}
}

func (a accountJSON) account() payments.Account {
	return payments.Account{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, AccountType: a.Type}
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("paymentsql: encode %T: %w", v, err)
	}
	return string(b), nil
}

func encodeDoc(d payments.Document) string {
	s, _ := encodeJSON(docJSON{ID: d.Identification, Rel: d.Rel}) // strings always encode
	return s
}

func decodeDoc(s string) (payments.Document, error) {
	var d docJSON
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return payments.Document{}, fmt.Errorf("paymentsql: stored document is unreadable: %w", err)
	}
	return payments.Document{Identification: d.ID, Rel: d.Rel}, nil
}

func encodeConsentBody(c payments.Consent) (string, error) {
	var b consentBody
	b.Creditor.PersonType, b.Creditor.CpfCnpj, b.Creditor.Name = c.Creditor.PersonType, c.Creditor.CpfCnpj, c.Creditor.Name
	p := c.Payment
	b.Type, b.Currency, b.Amount, b.IbgeTownCode = p.Type, p.Currency, p.Amount, p.IbgeTownCode
	if p.Date != nil {
		b.Date = p.Date.String()
	}
	if s := p.Schedule; s != nil {
		sj := &scheduleJSON{Kind: s.Kind()}
		switch {
		case s.Single != nil:
			sj.Dates = []string{s.Single.Date.String()}
		case s.Daily != nil:
			sj.StartDate, sj.Quantity = s.Daily.StartDate.String(), s.Daily.Quantity
		case s.Weekly != nil:
			sj.StartDate, sj.Quantity, sj.DayOfWeek = s.Weekly.StartDate.String(), s.Weekly.Quantity, s.Weekly.DayOfWeek
		case s.Monthly != nil:
			sj.StartDate, sj.Quantity, sj.DayOfMonth = s.Monthly.StartDate.String(), s.Monthly.Quantity, s.Monthly.DayOfMonth
		case s.Custom != nil:
			for _, d := range s.Custom.Dates {
				sj.Dates = append(sj.Dates, d.String())
			}
			sj.Info = s.Custom.AdditionalInformation
		}
		b.Schedule = sj
	}
	d := p.Details
	b.LocalInstrument, b.QRCode, b.Proxy, b.CreditorAccount = d.LocalInstrument, d.QRCode, d.Proxy, toAccountJSON(d.CreditorAccount)
	return encodeJSON(b)
}

func decodeConsentBody(s string, c *payments.Consent) error {
	var b consentBody
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return fmt.Errorf("paymentsql: consent %s has an unreadable body: %w", c.ID, err)
	}
	c.Creditor = payments.Creditor{PersonType: b.Creditor.PersonType, CpfCnpj: b.Creditor.CpfCnpj, Name: b.Creditor.Name}
	c.Payment = payments.ConsentPayment{Type: b.Type, Currency: b.Currency, Amount: b.Amount, IbgeTownCode: b.IbgeTownCode,
		Details: payments.Details{LocalInstrument: b.LocalInstrument, QRCode: b.QRCode, Proxy: b.Proxy,
			CreditorAccount: b.CreditorAccount.account()}}
	date := func(s string) (payments.Date, error) {
		d, err := payments.ParseDate(s)
		if err != nil {
			return d, fmt.Errorf("paymentsql: consent %s: %w", c.ID, err)
		}
		return d, nil
	}
	if b.Date != "" {
		d, err := date(b.Date)
		if err != nil {
			return err
		}
		c.Payment.Date = &d
	}
	if sj := b.Schedule; sj != nil {
		s := &payments.Schedule{}
		var start payments.Date
		if sj.StartDate != "" {
			var err error
			if start, err = date(sj.StartDate); err != nil {
				return err
			}
		}
		var dates []payments.Date
		for _, ds := range sj.Dates {
			d, err := date(ds)
			if err != nil {
				return err
			}
			dates = append(dates, d)
		}
		switch sj.Kind {
		case "single":
			if len(dates) != 1 {
				return fmt.Errorf("paymentsql: consent %s: single schedule without its date", c.ID)
			}
			s.Single = &payments.ScheduleSingle{Date: dates[0]}
		case "daily":
			s.Daily = &payments.ScheduleDaily{StartDate: start, Quantity: sj.Quantity}
		case "weekly":
			s.Weekly = &payments.ScheduleWeekly{StartDate: start, Quantity: sj.Quantity, DayOfWeek: sj.DayOfWeek}
		case "monthly":
			s.Monthly = &payments.ScheduleMonthly{StartDate: start, Quantity: sj.Quantity, DayOfMonth: sj.DayOfMonth}
		case "custom":
			s.Custom = &payments.ScheduleCustom{Dates: dates, AdditionalInformation: sj.Info}
		default:
			return fmt.Errorf("paymentsql: consent %s: unknown schedule kind %q", c.ID, sj.Kind)
		}
		c.Payment.Schedule = s
	}
	return nil
}

type paymentBody struct {
	EndToEndID                string      `json:"endToEndId"`
	LocalInstrument           string      `json:"localInstrument"`
	Amount                    string      `json:"amount"`
	Currency                  string      `json:"currency"`
	CreditorAccount           accountJSON `json:"creditorAccount"`
	DebtorAccount             accountJSON `json:"debtorAccount"`
	Proxy                     string      `json:"proxy,omitempty"`
	QRCode                    string      `json:"qrCode,omitempty"`
	IbgeTownCode              string      `json:"ibgeTownCode,omitempty"`
	CnpjInitiator             string      `json:"cnpjInitiator"`
	TransactionIdentification string      `json:"transactionIdentification,omitempty"`
	RemittanceInformation     string      `json:"remittanceInformation,omitempty"`
	AuthorisationFlow         string      `json:"authorisationFlow,omitempty"`
}

func encodePaymentBody(p payments.Payment) (string, error) {
	return encodeJSON(paymentBody{
		EndToEndID: p.EndToEndID, LocalInstrument: p.LocalInstrument, Amount: p.Amount, Currency: p.Currency,
		CreditorAccount: toAccountJSON(p.CreditorAccount), DebtorAccount: toAccountJSON(p.DebtorAccount),
		Proxy: p.Proxy, QRCode: p.QRCode, IbgeTownCode: p.IbgeTownCode, CnpjInitiator: p.CnpjInitiator,
		TransactionIdentification: p.TransactionIdentification, RemittanceInformation: p.RemittanceInformation,
		AuthorisationFlow: p.AuthorisationFlow,
	})
}

func decodePaymentBody(s string, p *payments.Payment) error {
	var b paymentBody
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		return fmt.Errorf("paymentsql: payment %s has an unreadable body: %w", p.ID, err)
	}
	p.EndToEndID, p.LocalInstrument, p.Amount, p.Currency = b.EndToEndID, b.LocalInstrument, b.Amount, b.Currency
	p.CreditorAccount, p.DebtorAccount = b.CreditorAccount.account(), b.DebtorAccount.account()
	p.Proxy, p.QRCode, p.IbgeTownCode, p.CnpjInitiator = b.Proxy, b.QRCode, b.IbgeTownCode, b.CnpjInitiator
	p.TransactionIdentification, p.RemittanceInformation, p.AuthorisationFlow = b.TransactionIdentification, b.RemittanceInformation, b.AuthorisationFlow
	return nil
}

type cancellationJSON struct {
	Reason string    `json:"reason"`
	From   string    `json:"from"`
	At     time.Time `json:"at"`
	By     docJSON   `json:"by"`
}
