// Package login owns what the customer sees during an authorization: the
// branded, server-rendered login, consent and error pages (html/template,
// no JavaScript, plain forms any HTTP client can fill in and post), the
// plain-language Portuguese/English text of every consent permission and
// the resource types each permission needs the customer to pick, the
// parsing and validation of the posted forms, and the per-user and
// per-address limiter of failed logins.
//
// A payment consent's page reviews the payment itself before the choice of
// the account to pay from (Payment, payment.go): the amount in reais
// (brtext.Money, from the consent's decimal string, never through a float),
// the payee's name and document (a CPF masked as Pix apps show it), the Pix
// key, the payee's account and the day or days of the payment.
//
// It never decides anything about OAuth, consent state or identity: the
// login policy in authz/server calls it to render and parse, authz/idp
// checks credentials, and the consent service owns consents. It never
// echoes a password back into a page and never logs form values.
package login
