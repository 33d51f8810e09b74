package consenthttp

import (
	"time"

	"github.com/ofp-dev/ofp/consent"
)

// timeLayout is the spec's date-time shape: RFC 3339, UTC "Z", no fraction.
const timeLayout = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

type linksSelf struct {
	Self string `json:"self"`
}

type links struct {
	Self  string `json:"self"`
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

type meta struct {
	RequestDateTime string `json:"requestDateTime"`
}

type metaPaged struct {
	TotalRecords    int    `json:"totalRecords"`
	TotalPages      int    `json:"totalPages"`
	RequestDateTime string `json:"requestDateTime"`
}

type wireDocumentOut struct {
	Identification string `json:"identification"`
	Rel            string `json:"rel"`
}

type wirePartyOut struct {
	Document wireDocumentOut `json:"document"`
}

type wireReason struct {
	Code                  string `json:"code"`
	AdditionalInformation string `json:"additionalInformation,omitempty"`
}

type wireRejection struct {
	RejectedBy string     `json:"rejectedBy"`
	Reason     wireReason `json:"reason"`
}

// consentData is the data object of ResponseConsent (201 POST),
// ResponseConsentExtensions (201 extends) and ResponseConsentRead (200 GET;
// only that one carries rejection).
type consentData struct {
	ConsentID            string         `json:"consentId"`
	CreationDateTime     string         `json:"creationDateTime"`
	Status               string         `json:"status"`
	StatusUpdateDateTime string         `json:"statusUpdateDateTime"`
	Permissions          []string       `json:"permissions"`
	ExpirationDateTime   string         `json:"expirationDateTime,omitempty"`
	Rejection            *wireRejection `json:"rejection,omitempty"`
}

type consentResponse struct {
	Data  consentData `json:"data"`
	Links linksSelf   `json:"links"`
	Meta  meta        `json:"meta"`
}

func toConsentData(c consent.Consent, withRejection bool) consentData {
	d := consentData{
		ConsentID:            c.ID,
		CreationDateTime:     fmtTime(c.CreationDateTime),
		Status:               string(c.Status),
		StatusUpdateDateTime: fmtTime(c.StatusUpdateDateTime),
		Permissions:          c.Permissions,
		ExpirationDateTime:   fmtTimePtr(c.ExpirationDateTime),
	}
	if withRejection && c.Status == consent.StatusRejected && c.Rejection != nil {
		d.Rejection = &wireRejection{
			RejectedBy: string(c.Rejection.RejectedBy),
			Reason:     wireReason{Code: string(c.Rejection.Reason), AdditionalInformation: c.Rejection.AdditionalInformation},
		}
	}
	return d
}

// extensionData is one item of ResponseConsentReadExtensions.
type extensionData struct {
	ExpirationDateTime         string       `json:"expirationDateTime,omitempty"`
	LoggedUser                 wirePartyOut `json:"loggedUser"`
	RequestDateTime            string       `json:"requestDateTime"`
	PreviousExpirationDateTime string       `json:"previousExpirationDateTime,omitempty"`
	XFapiCustomerIPAddress     string       `json:"xFapiCustomerIpAddress,omitempty"`
	XCustomerUserAgent         string       `json:"xCustomerUserAgent,omitempty"`
}

type extensionsResponse struct {
	Data  []extensionData `json:"data"`
	Links links           `json:"links"`
	Meta  metaPaged       `json:"meta"`
}

func toExtensionData(e consent.Extension) extensionData {
	return extensionData{
		ExpirationDateTime: fmtTimePtr(e.ExpirationDateTime),
		LoggedUser: wirePartyOut{Document: wireDocumentOut{
			Identification: e.LoggedUser.Document.Identification, Rel: e.LoggedUser.Document.Rel,
		}},
		RequestDateTime:            fmtTime(e.RequestDateTime),
		PreviousExpirationDateTime: fmtTimePtr(e.PreviousExpirationDateTime),
		XFapiCustomerIPAddress:     e.CustomerIPAddress,
		XCustomerUserAgent:         e.CustomerUserAgent,
	}
}

// apiError is one error answered in the spec's ResponseError shape.
type apiError struct {
	Status int
	Code   string
	Title  string
	Detail string
}
