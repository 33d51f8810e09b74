// Package idphttp is the identity-provider port (idp.Provider) over HTTP:
// how the authorization server's login page checks a customer's
// credentials against the institution's IAM in production, and the
// server side of the same contract.
//
// The contract (wire rules in internal/backendrpc): POST
// <base>/idp/v1/authenticate with {"cpf","cnpj","password","otp","min_loa"}
// answers 200 {"subject","cpf","cnpj","name","loa"} or 422 with code
// INVALID_CREDENTIALS or SECOND_FACTOR_REQUIRED. The client checks what
// comes back (a subject, the documents typed, a level of 2 or 3 that meets
// the request's) and never retries a login, so the IAM counts every
// attempt once. The customer's resources for the consent page are read
// from the core (connectors/corebank/corehttp), not from here.
package idphttp
