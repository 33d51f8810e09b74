// Package sim is a simulated Open Finance Brasil ecosystem for ofp's demo,
// tests and benchmarks: the central directory and the open-data servers of
// every participant, on one http.Handler.
//
// # What it serves
//
//   - GET /participants: the directory (directory-participants 1.1.0), seeded
//     with the real 2021 dump (organisations, brands = CustomerFriendlyName,
//     RegistrationNumber). Every URL it lists points at the simulator.
//     Organisations publish in one of two styles (Config.Style/OrgStyles):
//     Style2021 keeps the dump's shape (one products-services base URL per
//     brand, integer ApiVersion 1, RegistrationNumber as in the dump: often
//     only the 8-digit CNPJ root; the integer ApiVersion is the one known
//     deviation from the 1.1.0 schema, as the real 2021 directory had it);
//     StyleCurrent lists one concrete URL per endpoint in the opendata-*
//     families with ApiVersion "1.0.1" and a 14-digit RegistrationNumber.
//     Config.InactiveOrgs organisations are Pending/Withdrawn but still answer.
//   - GET /inst/{OrganisationId}/{AuthorisationServerId}/open-banking/<family>/v1/<product>:
//     one institution (brand) per authorisation server. Style2021 serves the
//     products-services v1 shape (products-services 1.0.2), StyleCurrent the
//     opendata-* 1.0.1 shape. Config.CompleteOrgs organisations serve all 12
//     products; the others a deterministic subset or none (404: as a
//     Style2021 directory lists only the base URL, the collector reads a 404
//     at a product URL it derived as "not offered"; a StyleCurrent
//     organisation lists only what it serves). Pagination:
//     page, page-size (default 25, max 1000 else 422), absolute links
//     (self, first, last always; prev/next when they exist), meta
//     {totalRecords,totalPages}. A page beyond the last answers 404.
//
// Payloads are generated from the embedded specs (seed/specs) by walking the
// response schema: enums are drawn from the spec, fee bands ascend with a
// minimum below and a maximum above them, customer shares sum to exactly 1
// in the precision the schema asks (6 decimals for opendata-*, 4 for
// products-services v1), rates are fractions. Each record is a pure
// function of (Seed, authorisation server, family, product, record index),
// so output is byte-identical for the same seed and nothing is cached but
// the directory and the facts. products-services 1.0.2 requires some
// properties it never declares (e.g. "incomeRates"); the simulator sends
// them as "NA" so pages validate.
//
// # Labelling
//
// Simulated figures appear under real institutions' names, so:
// every response carries the header X-Ofp-Simulated: true (SimulatedHeader);
// every participant.urlComplementaryList / company urlComplementaryList is
// https://simulado.ofp.invalid/<org>/<as>; every authorisation server's
// CustomerFriendlyDescription is SimulatedDescription. Names, brands and
// CNPJs are left as they are. Production code must not import sim: check the
// header by name. Organisations() marks every organisation Simulated.
//
// # Faults
//
// Config.Faults (or ParseFaults on "org=<id>:latency=200ms,5xx=0.2,429=0.1,
// retry-after=1s,malformed=0.1,truncated=0.1,invalid=0.2,maxfail=2;org=...")
// degrades single organisations. Transport faults are decided per request by
// hash(Seed, org, path, page, page-size, attempt), attempt counting earlier
// requests for that page (FaultFor predicts them; ResetAttempts resets):
// 5xx (500/502/503/504 with a ResponseError body), 429 with Retry-After in
// whole seconds, malformed (complete body that is not JSON), truncated
// (Content-Length of the full body, two thirds sent, connection closed).
// maxfail=N makes attempt N and later clean. The X-Ofp-Sim-Fault header names
// the fault for debugging. Record defects (invalid=p) are persistent per
// record: a band value "abc", a decimal sent as a JSON number, a duplicated
// band, a missing band, or a missing minimum/minimumRate. DemoFaults is the
// demo profile: three organisations degraded, the rest clean.
//
// # Expected figures
//
// Fees and Rates return what is served as typed values (decimal strings as
// on the wire), with Valid=false and Fault set where a record defect was
// injected, so an end-to-end test can compute expected comparisons without
// the platform. Service bundles (monthlyFee) are not reported as fees.
//
// sim never touches the network beyond its own listener, never reads the
// real directory, and must never be imported by production packages.
package sim
