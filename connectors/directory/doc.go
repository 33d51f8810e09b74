// Package directory reads the Open Finance Brasil central directory's public
// participants list (directory-participants-1.1.0.yaml) and discovers the
// open-data endpoints ofp collects.
//
// It owns:
//   - the Go types of a participants document and a lenient parser
//     (ParseParticipants): ApiVersion may be a number (2021 dumps) or a
//     string, nulls decode to zero values, unknown fields are ignored, and a
//     record that does not decode drops only itself;
//   - Client, an HTTP client for the list with per-attempt timeout, bounded
//     body and retries with backoff on network errors, 5xx and 429;
//   - Discover / OpenDataEndpoints, pure functions from organisations to
//     Endpoint values, with a DiscoveryReport of what was skipped and why.
//
// Discovery rules. Kept: organisations with Status Active that hold at least
// one Active role claim (or list none); authorisation servers whose
// RetirementDate has not passed; ApiResources of family products-services
// (12 products) or opendata-accounts, -creditcards, -loans, -financings,
// -invoicefinancings, -unarranged (2 products each). A URL that ends in a
// version segment (2021 style ".../products-services/v1") expands to one URL
// per product; a URL that ends in a product name (current style) is kept when
// the product belongs to its family; templated URLs ("{accountId}") and
// schemes other than https/http are skipped with a Finding. http is accepted
// because test directories and local mirrors use it.
//
// Attribution of shared URLs. In the 2021 dump one URL is listed by many
// organisations (Itaú's products-services base by 17). Organisations are
// visited in OrganisationId order and the URL is attributed to the first
// listing; every other (organisation, brand) is recorded in
// Endpoint.SharedWith. This is a deterministic choice, not a fact: the
// payload's own participant.cnpjNumber says whose products a page describes,
// and the pipelines should prefer it.
//
// It never writes to Kafka, the lake or the warehouse, never fetches the
// open-data endpoints themselves (connectors/opendata does), and keeps no
// state between calls.
package directory
