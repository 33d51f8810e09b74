// Package corehttp is the core-banking port (corebank.Core) over HTTP: the
// way a data holder in production reads its customers' data from the
// institution's own systems, and the server side of the same contract.
//
// The contract (see internal/backendrpc for the wire rules): every
// corebank.Core method is POST <base>/core/v1/<method> (the Method*
// constants) with a Request body, {"owner":{"cpf","cnpj"}, "id", "bill_id",
// "query":{"from","to","credit_debit","transaction_type","payee_mcc","page",
// "page_size"}}, and answers 200 with the port's result: the specs' data
// objects as corebank declares them (accounts 2.4.2, credit-cards-accounts
// 2.3.1, customers 2.2.1, with their JSON names), a list as a JSON array, a
// paged list as {"items","page","page_size","total_records","total_pages"},
// a customer as Customer. The port's errors travel as codes:
// CUSTOMER_NOT_FOUND, NOT_REPRESENTATIVE, RESOURCE_NOT_FOUND (404),
// WRONG_PERSON_TYPE, BAD_QUERY (422); anything else is the back end
// failing, and the holder answers it as its own 500.
//
// Client implements corebank.Core (`ofp serve --backend-url`); Register
// serves any corebank.Core (`ofp sim backend` serves the synthetic core,
// and the tests check that a Client over it answers exactly what the core
// does).
package corehttp
