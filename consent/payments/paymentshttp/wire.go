package paymentshttp

import (
	"time"

	"github.com/ofp-dev/ofp/consent/payments"
)

// The wire shapes of the Payments API 4.0.0 (what goes in the data claim).

const timeLayout = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

type wireDoc struct {
	Identification string `json:"identification"`
	Rel            string `json:"rel"`
}

type wireParty struct {
	Document wireDoc `json:"document"`
}

type wireAccount struct {
	ISPB        string `json:"ispb"`
	Issuer      string `json:"issuer,omitempty"`
	Number      string `json:"number"`
	AccountType string `json:"accountType"`
}

func (a wireAccount) account() payments.Account {
	return payments.Account{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, AccountType: a.AccountType}
}

func toWireAccount(a payments.Account) wireAccount {
	return wireAccount{ISPB: a.ISPB, Issuer: a.Issuer, Number: a.Number, AccountType: a.AccountType}
}

type wireCreditor struct {
	PersonType string `json:"personType"`
	CpfCnpj    string `json:"cpfCnpj"`
	Name       string `json:"name"`
}

type wireDetails struct {
	LocalInstrument string      `json:"localInstrument"`
	QRCode          string      `json:"qrCode,omitempty"`
	Proxy           string      `json:"proxy,omitempty"`
	CreditorAccount wireAccount `json:"creditorAccount"`
}

type wireSingle struct {
	Date string `json:"date"`
}

type wireRecurring struct {
	StartDate  string `json:"startDate"`
	Quantity   int    `json:"quantity"`
	DayOfWeek  string `json:"dayOfWeek,omitempty"`
	DayOfMonth int    `json:"dayOfMonth,omitempty"`
}

type wireCustom struct {
	Dates                 []string `json:"dates"`
	AdditionalInformation string   `json:"additionalInformation"`
}

type wireSchedule struct {
	Single  *wireSingle    `json:"single,omitempty"`
	Daily   *wireRecurring `json:"daily,omitempty"`
	Weekly  *wireRecurring `json:"weekly,omitempty"`
	Monthly *wireRecurring `json:"monthly,omitempty"`
	Custom  *wireCustom    `json:"custom,omitempty"`
}

type wireConsentPayment struct {
	Type         string        `json:"type"`
	Schedule     *wireSchedule `json:"schedule,omitempty"`
	Date         string        `json:"date,omitempty"`
	Currency     string        `json:"currency"`
	Amount       string        `json:"amount"`
	IbgeTownCode string        `json:"ibgeTownCode,omitempty"`
	Details      wireDetails   `json:"details"`
}

// consentRequest is CreatePaymentConsent.data.
type consentRequest struct {
	LoggedUser     wireParty          `json:"loggedUser"`
	BusinessEntity *wireParty         `json:"businessEntity,omitempty"`
	Creditor       wireCreditor       `json:"creditor"`
	Payment        wireConsentPayment `json:"payment"`
	DebtorAccount  *wireAccount       `json:"debtorAccount,omitempty"`
}

type wireRejection struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// consentData is the data of ResponseCreatePaymentConsent and
// ResponsePaymentConsent (only the latter lists rejectionReason; the
// former allows it).
type consentData struct {
	ConsentID            string             `json:"consentId"`
	CreationDateTime     string             `json:"creationDateTime"`
	ExpirationDateTime   string             `json:"expirationDateTime"`
	StatusUpdateDateTime string             `json:"statusUpdateDateTime"`
	Status               string             `json:"status"`
	LoggedUser           wireParty          `json:"loggedUser"`
	BusinessEntity       *wireParty         `json:"businessEntity,omitempty"`
	Creditor             wireCreditor       `json:"creditor"`
	Payment              wireConsentPayment `json:"payment"`
	DebtorAccount        *wireAccount       `json:"debtorAccount,omitempty"`
	RejectionReason      *wireRejection     `json:"rejectionReason,omitempty"`
}

type linksSelf struct {
	Self string `json:"self"`
}

type meta struct {
	RequestDateTime string `json:"requestDateTime"`
}

type envelope struct {
	Data  any       `json:"data"`
	Links linksSelf `json:"links"`
	Meta  meta      `json:"meta"`
}

func party(d payments.Document) wireParty {
	return wireParty{Document: wireDoc{Identification: d.Identification, Rel: d.Rel}}
}

func toConsentRequest(data consentRequest, id, clientID, orgID string) (payments.Consent, error) {
	c := payments.Consent{
		ID: id, ClientID: clientID, OrgID: orgID,
		LoggedUser: payments.Document{Identification: data.LoggedUser.Document.Identification, Rel: data.LoggedUser.Document.Rel},
		Creditor:   payments.Creditor{PersonType: data.Creditor.PersonType, CpfCnpj: data.Creditor.CpfCnpj, Name: data.Creditor.Name},
	}
	if be := data.BusinessEntity; be != nil {
		c.BusinessEntity = &payments.Document{Identification: be.Document.Identification, Rel: be.Document.Rel}
	}
	if d := data.DebtorAccount; d != nil {
		a := d.account()
		c.DebtorAccount = &a
	}
	p := data.Payment
	c.Payment = payments.ConsentPayment{Type: p.Type, Currency: p.Currency, Amount: p.Amount, IbgeTownCode: p.IbgeTownCode,
		Details: payments.Details{LocalInstrument: p.Details.LocalInstrument, QRCode: p.Details.QRCode, Proxy: p.Details.Proxy,
			CreditorAccount: p.Details.CreditorAccount.account()}}
	if p.Date != "" {
		d, err := parseDate(p.Date, "payment.date")
		if err != nil {
			return payments.Consent{}, err
		}
		c.Payment.Date = &d
	}
	if s := p.Schedule; s != nil {
		sc, err := toSchedule(*s)
		if err != nil {
			return payments.Consent{}, err
		}
		c.Payment.Schedule = sc
	}
	return c, nil
}

func parseDate(s, field string) (payments.Date, error) {
	d, err := payments.ParseDate(s)
	if err != nil {
		return payments.Date{}, &payments.RuleError{Code: payments.CodeInvalidParameter,
			Detail: "Parâmetro " + field + " não obedece às regras de formatação esperadas."}
	}
	return d, nil
}

func toSchedule(s wireSchedule) (*payments.Schedule, error) {
	out := &payments.Schedule{}
	var err error
	start := func(r *wireRecurring, kind string) payments.Date {
		if err != nil {
			return payments.Date{}
		}
		var d payments.Date
		d, err = parseDate(r.StartDate, "payment.schedule."+kind+".startDate")
		return d
	}
	if s.Single != nil {
		d, derr := parseDate(s.Single.Date, "payment.schedule.single.date")
		if derr != nil {
			return nil, derr
		}
		out.Single = &payments.ScheduleSingle{Date: d}
	}
	if r := s.Daily; r != nil {
		out.Daily = &payments.ScheduleDaily{StartDate: start(r, "daily"), Quantity: r.Quantity}
	}
	if r := s.Weekly; r != nil {
		out.Weekly = &payments.ScheduleWeekly{StartDate: start(r, "weekly"), Quantity: r.Quantity, DayOfWeek: r.DayOfWeek}
	}
	if r := s.Monthly; r != nil {
		out.Monthly = &payments.ScheduleMonthly{StartDate: start(r, "monthly"), Quantity: r.Quantity, DayOfMonth: r.DayOfMonth}
	}
	if c := s.Custom; c != nil {
		cs := &payments.ScheduleCustom{AdditionalInformation: c.AdditionalInformation}
		for _, ds := range c.Dates {
			d, derr := parseDate(ds, "payment.schedule.custom.dates")
			if derr != nil {
				return nil, derr
			}
			cs.Dates = append(cs.Dates, d)
		}
		out.Custom = cs
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func fromSchedule(s *payments.Schedule) *wireSchedule {
	if s == nil {
		return nil
	}
	out := &wireSchedule{}
	switch {
	case s.Single != nil:
		out.Single = &wireSingle{Date: s.Single.Date.String()}
	case s.Daily != nil:
		out.Daily = &wireRecurring{StartDate: s.Daily.StartDate.String(), Quantity: s.Daily.Quantity}
	case s.Weekly != nil:
		out.Weekly = &wireRecurring{StartDate: s.Weekly.StartDate.String(), Quantity: s.Weekly.Quantity, DayOfWeek: s.Weekly.DayOfWeek}
	case s.Monthly != nil:
		out.Monthly = &wireRecurring{StartDate: s.Monthly.StartDate.String(), Quantity: s.Monthly.Quantity, DayOfMonth: s.Monthly.DayOfMonth}
	case s.Custom != nil:
		c := &wireCustom{AdditionalInformation: s.Custom.AdditionalInformation}
		for _, d := range s.Custom.Dates {
			c.Dates = append(c.Dates, d.String())
		}
		out.Custom = c
	}
	return out
}

func toConsentData(c payments.Consent) consentData {
	d := consentData{
		ConsentID: c.ID, CreationDateTime: fmtTime(c.CreationDateTime), ExpirationDateTime: fmtTime(c.ExpirationDateTime),
		StatusUpdateDateTime: fmtTime(c.StatusUpdateDateTime), Status: string(c.Status), LoggedUser: party(c.LoggedUser),
		Creditor: wireCreditor{PersonType: c.Creditor.PersonType, CpfCnpj: c.Creditor.CpfCnpj, Name: c.Creditor.Name},
	}
	if c.BusinessEntity != nil {
		be := party(*c.BusinessEntity)
		d.BusinessEntity = &be
	}
	p := c.Payment
	d.Payment = wireConsentPayment{Type: p.Type, Schedule: fromSchedule(p.Schedule), Currency: p.Currency, Amount: p.Amount,
		IbgeTownCode: p.IbgeTownCode, Details: wireDetails{LocalInstrument: p.Details.LocalInstrument, QRCode: p.Details.QRCode,
			Proxy: p.Details.Proxy, CreditorAccount: toWireAccount(p.Details.CreditorAccount)}}
	if p.Date != nil {
		d.Payment.Date = p.Date.String()
	}
	if c.DebtorAccount != nil {
		a := toWireAccount(*c.DebtorAccount)
		d.DebtorAccount = &a
	}
	if c.Status == payments.ConsentRejected && c.Rejection != nil {
		d.RejectionReason = &wireRejection{Code: string(c.Rejection.Code), Detail: c.Rejection.Detail}
	}
	return d
}

type wireAmount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// pixRequest is one item of CreatePixPayment.data.
type pixRequest struct {
	EndToEndID                string      `json:"endToEndId"`
	LocalInstrument           string      `json:"localInstrument"`
	Payment                   wireAmount  `json:"payment"`
	CreditorAccount           wireAccount `json:"creditorAccount"`
	RemittanceInformation     string      `json:"remittanceInformation,omitempty"`
	QRCode                    string      `json:"qrCode,omitempty"`
	Proxy                     string      `json:"proxy,omitempty"`
	CnpjInitiator             string      `json:"cnpjInitiator"`
	TransactionIdentification string      `json:"transactionIdentification,omitempty"`
	IbgeTownCode              string      `json:"ibgeTownCode,omitempty"`
	AuthorisationFlow         string      `json:"authorisationFlow,omitempty"`
	ConsentID                 string      `json:"consentId,omitempty"`
}

func (r pixRequest) payment() payments.Payment {
	return payments.Payment{
		EndToEndID: r.EndToEndID, LocalInstrument: r.LocalInstrument, Amount: r.Payment.Amount, Currency: r.Payment.Currency,
		CreditorAccount: r.CreditorAccount.account(), RemittanceInformation: r.RemittanceInformation, QRCode: r.QRCode,
		Proxy: r.Proxy, CnpjInitiator: r.CnpjInitiator, TransactionIdentification: r.TransactionIdentification,
		IbgeTownCode: r.IbgeTownCode, AuthorisationFlow: r.AuthorisationFlow, ConsentID: r.ConsentID,
	}
}

type wireCancellation struct {
	Reason        string    `json:"reason"`
	CancelledFrom string    `json:"cancelledFrom"`
	CancelledAt   string    `json:"cancelledAt"`
	CancelledBy   wireParty `json:"cancelledBy"`
}

// paymentData is the data of ResponsePixPayment / ResponsePatchPixPayment
// and an item of ResponseCreatePixPayment.
type paymentData struct {
	PaymentID                 string            `json:"paymentId"`
	EndToEndID                string            `json:"endToEndId"`
	ConsentID                 string            `json:"consentId"`
	CreationDateTime          string            `json:"creationDateTime"`
	StatusUpdateDateTime      string            `json:"statusUpdateDateTime"`
	Proxy                     string            `json:"proxy,omitempty"`
	IbgeTownCode              string            `json:"ibgeTownCode,omitempty"`
	Status                    string            `json:"status"`
	RejectionReason           *wireRejection    `json:"rejectionReason,omitempty"`
	LocalInstrument           string            `json:"localInstrument"`
	CnpjInitiator             string            `json:"cnpjInitiator"`
	Payment                   wireAmount        `json:"payment"`
	TransactionIdentification string            `json:"transactionIdentification,omitempty"`
	RemittanceInformation     string            `json:"remittanceInformation,omitempty"`
	CreditorAccount           wireAccount       `json:"creditorAccount"`
	Cancellation              *wireCancellation `json:"cancellation,omitempty"`
	DebtorAccount             wireAccount       `json:"debtorAccount"`
	AuthorisationFlow         string            `json:"authorisationFlow,omitempty"`
}

// toPaymentData renders p. getPix selects the rejection enum: GET uses
// EnumRejectionReasonTypeGetPix; the POST and PATCH answers use
// EnumRejectionReasonType, which lacks FALHA_AGENDAMENTO_PAGAMENTOS (shown
// there as NAO_INFORMADO with the reason in the detail).
func toPaymentData(p payments.Payment, getPix bool) paymentData {
	d := paymentData{
		PaymentID: p.ID, EndToEndID: p.EndToEndID, ConsentID: p.ConsentID, CreationDateTime: fmtTime(p.CreationDateTime),
		StatusUpdateDateTime: fmtTime(p.StatusUpdateDateTime), Proxy: p.Proxy, IbgeTownCode: p.IbgeTownCode,
		Status: string(p.Status), LocalInstrument: p.LocalInstrument, CnpjInitiator: p.CnpjInitiator,
		Payment: wireAmount{Amount: p.Amount, Currency: p.Currency}, TransactionIdentification: p.TransactionIdentification,
		RemittanceInformation: p.RemittanceInformation, CreditorAccount: toWireAccount(p.CreditorAccount),
		DebtorAccount: toWireAccount(p.DebtorAccount), AuthorisationFlow: p.AuthorisationFlow,
	}
	if p.Status == payments.PaymentRJCT && p.Rejection != nil {
		r := wireRejection{Code: string(p.Rejection.Code), Detail: p.Rejection.Detail}
		if !getPix && p.Rejection.Code == payments.PayRejectSchedulingFailed {
			r = wireRejection{Code: string(payments.PayRejectNotInformed), Detail: "FALHA_AGENDAMENTO_PAGAMENTOS: " + p.Rejection.Detail}
		}
		d.RejectionReason = &r
	}
	if c := p.Cancellation; c != nil && p.Status == payments.PaymentCANC {
		d.Cancellation = &wireCancellation{Reason: string(c.Reason), CancelledFrom: string(c.From), CancelledAt: fmtTime(c.At),
			CancelledBy: party(c.By)}
	}
	return d
}

// patchRequest is PatchPixPayment.data.
type patchRequest struct {
	Status       string `json:"status"`
	Cancellation struct {
		CancelledBy wireParty `json:"cancelledBy"`
	} `json:"cancellation"`
}

// patchConsentItem is an item of ResponsePatchPixConsent.data.
type patchConsentItem struct {
	PaymentID            string `json:"paymentId"`
	StatusUpdateDateTime string `json:"statusUpdateDateTime"`
}
